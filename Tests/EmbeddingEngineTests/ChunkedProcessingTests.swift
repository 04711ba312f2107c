import Foundation
import NestorCore
import Testing
import VectorMath
@testable import EmbeddingEngine

/// vLLM's chunked processing: an over-long input is cut on token boundaries into pieces that
/// each keep the sequence's special tokens, and the pieces' vectors are averaged by token count.
@Suite struct ChunkedProcessingTests {
    static let embedder: LocalEmbedder = { try! LocalEmbedder(folder: try! EngineFixtures.folder("tiny-bert"), options: .init(workers: 1)) }()  // safe: committed fixture

    func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 } }

    @Test func piecesAreEmbeddedAndPooledByTokenCount() async throws {
        let e = Self.embedder
        let limit = e.info.maxInputTokens
        let text = (0..<(limit * 2)).map { "w\($0 % 37) x" }.joined(separator: " ")
        let encoded = try e.tokenizer.encode(text)
        #expect(encoded.count > 2 * limit)
        // The expected pieces by hand: [CLS] + content slice + [SEP], each at most the limit.
        let (cls, sep) = (encoded.ids.first!, encoded.ids.last!)
        let content = Array(encoded.ids.dropFirst().dropLast())
        let room = limit - 2
        let pieces = stride(from: 0, to: content.count, by: room).map { [cls] + content[$0..<min($0 + room, content.count)] + [sep] }
        let alone = try await e.embed(pieces.map { .tokens($0) }, options: EmbedOptions()).vectors
        var mean = [Float](repeating: 0, count: e.info.dimensions)
        for (v, p) in zip(alone, pieces) { for j in mean.indices { mean[j] += v[j] * Float(p.count) / Float(pieces.reduce(0) { $0 + $1.count }) } }
        let chunked = try await e.embed([.text(text), .text("short")], options: EmbedOptions(chunked: true))
        #expect(close(chunked.vectors[0], VectorMath.normalized(mean)))
        #expect(chunked.tokenCounts[0] == pieces.reduce(0) { $0 + $1.count })
        // An input that fits is embedded whole, as without the option.
        let plain = try await e.embed([.text("short")], options: EmbedOptions())
        #expect(close(chunked.vectors[1], plain.vectors[0]) && chunked.tokenCounts[1] == plain.tokenCounts[0])
        // Without it the input is truncated to the limit; an explicit token cap still truncates.
        #expect(try await e.embed([.text(text)], options: EmbedOptions()).tokenCounts == [limit])
        #expect(try await e.embed([.text(text)], options: EmbedOptions(maxTokens: 10, chunked: true)).tokenCounts == [10])
        // Token-id input is cut as given (no special tokens added), and Matryoshka applies after pooling.
        let ids = Array(repeating: cls, count: limit + 5)
        let t = try await e.embed([.tokens(ids)], options: EmbedOptions(chunked: true))
        #expect(t.tokenCounts == [limit + 5])
    }

    @Test func tooManyPiecesIsAClearError() async throws {
        let e = Self.embedder
        let huge = String(repeating: "word ", count: e.info.maxInputTokens * (LocalEmbedder.maxPieces + 1))
        await #expect(throws: EmbeddingError.self) { try await e.embed([.text(huge)], options: EmbedOptions(chunked: true)) }
    }
}

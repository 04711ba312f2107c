import Foundation
import Testing
@testable import EmbeddingModel

/// Broken model folders give errors naming the file and tensor, never a crash.
@Suite struct FolderErrorTests {
    func copyOfTinyBert() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: ModelFixtures.folder("tiny-bert"), to: dir)
        return dir
    }

    @Test func missingConfig() throws {
        let dir = try copyOfTinyBert()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        #expect(throws: ModelError.self) { try SentenceEmbedder(folder: dir) }
    }

    @Test func truncatedSafetensors() throws {
        let dir = try copyOfTinyBert()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(1000).write(to: url)
        do {
            _ = try SentenceEmbedder(folder: dir)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.file.hasSuffix("model.safetensors"))
        }
    }

    @Test func wrongShapeNamesTheTensor() throws {
        let dir = try copyOfTinyBert()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        cfg["intermediate_size"] = 65
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
        do {
            _ = try SentenceEmbedder(folder: dir)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.code == .wrongShape)
            #expect(e.message.contains("intermediate.dense"))
        }
    }

    @Test func unknownArchitecture() throws {
        let dir = try copyOfTinyBert()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        cfg["model_type"] = "t5"
        cfg["architectures"] = ["T5EncoderModel"]
        try JSONSerialization.data(withJSONObject: cfg).write(to: url)
        #expect(throws: ModelError.self) { try SentenceEmbedder(folder: dir) }
    }

    @Test func tokenIdsOutsideTheVocabularyAreRejected() throws {
        let model = try SentenceEmbedder(folder: ModelFixtures.folder("tiny-bert"))
        #expect(throws: ModelError.self) { try model.embed([[101, 999_999, 102]]) }
        #expect(throws: ModelError.self) { try model.embed([[101, -1, 102]]) }
        #expect(throws: ModelError.self) { try model.embed([[101, Int.max, 102]]) }
        #expect(throws: ModelError.self) { try model.embed([Array(repeating: 101, count: 10_000)]) }
        #expect(try model.embed([]).isEmpty)
    }

    /// Sizes that would make empty weights or overflow buffers are refused up front.
    @Test(arguments: [("intermediate_size", 0), ("hidden_size", -32), ("vocab_size", 0),
                      ("num_hidden_layers", 1 << 40), ("max_position_embeddings", 0)] as [(String, Int)])
    func implausibleSizesAreRejected(key: String, value: Int) throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        try dir.editConfig { $0[key] = value }
        do {
            _ = try SentenceEmbedder(folder: dir.url)
            Issue.record("expected an error for \(key) = \(value)")
        } catch let e as ModelError {
            #expect(e.file.hasSuffix("config.json"), "\(e)")
        }
    }

    @Test func unsupportedActivationIsNamed() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        try dir.editConfig { $0["hidden_act"] = "relu" }
        do {
            _ = try SentenceEmbedder(folder: dir.url)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.code == .unsupported && e.message.contains("relu"))
        }
    }

    @Test func readsBothSentenceTransformersLayouts() throws {
        let classic = try SentenceTransformerConfig(folder: ModelFixtures.folder("tiny-bert"))
        #expect(classic.pooling == .mean && classic.normalize && classic.maxSeqLength == 128)
        let qwen = try SentenceTransformerConfig(folder: ModelFixtures.folder("tiny-qwen3"))
        #expect(qwen.pooling == .lastToken && qwen.prompts["query"]?.hasPrefix("Instruct:") == true)
    }
}

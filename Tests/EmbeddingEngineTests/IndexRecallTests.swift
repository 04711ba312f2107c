import Foundation
import HNSW
import NestorCore
import Testing
@testable import EmbeddingEngine

/// The index on what it will really hold: 20,000 vectors the engine makes from real text, not
/// synthetic points. Random vectors are easy for HNSW in a way embeddings are not (embeddings
/// crowd into a few directions, and overlapping passages give near-duplicates).
@Suite struct IndexRecallTests {
    /// Overlapping word windows, 6 to 15 words long, over the evaluation texts in the repository
    /// (eval/corpus.jsonl and the nine languages of eval/queries-*.jsonl): the kind of passages
    /// sliding-window chunking produces, many of them near-duplicates of their neighbours.
    static func passages(count: Int) throws -> [String] {
        let eval = EngineFixtures.root.appendingPathComponent("eval")
        let files = try FileManager.default.contentsOfDirectory(atPath: eval.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        var words = [Substring]()
        for file in files {
            for line in try String(contentsOf: eval.appendingPathComponent(file), encoding: .utf8).split(separator: "\n") {
                let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                words += ((obj?["text"] as? String) ?? "").split(whereSeparator: \.isWhitespace)
            }
        }
        var out = [String]()
        var start = 0, length = 6
        while out.count < count && start + length <= words.count {
            out.append(words[start..<start + length].joined(separator: " "))
            start += 1
            length = 6 + (length * 7 + 3) % 10
        }
        return out
    }

    @Test(.enabled(if: EngineFixtures.fetched("all-MiniLM-L6-v2") != nil, "models/all-MiniLM-L6-v2 is absent (run scripts/fetch_models.py)"))
    func recallOn20kRealEmbeddings() async throws {
        let folder = try #require(EngineFixtures.fetched("all-MiniLM-L6-v2"))
        let engine = try LocalEmbedder(folder: folder)
        let texts = try Self.passages(count: 20_200)
        #expect(texts.count == 20_200)
        var vectors = [[Float]]()
        for batch in stride(from: 0, to: texts.count, by: 256) {
            let part = texts[batch..<min(batch + 256, texts.count)]
            vectors += try await engine.embed(part.map { .text($0) }, options: EmbedOptions()).vectors
        }
        // Every 101st passage is a query, the rest the index.
        let queries = vectors.enumerated().filter { $0.offset % 101 == 0 }.map(\.element)
        let base = vectors.enumerated().filter { $0.offset % 101 != 0 }.map(\.element)
        var graph = HNSWGraph(dimension: base[0].count, metric: .cosine, m: 16, efConstruction: 200, seed: 1)
        let visited = VisitedSet()
        for (i, v) in base.enumerated() { graph.insert(v, label: UInt64(i), visited: visited) }

        var found = 0
        for q in queries {
            // A hit counts when it is as close as the exact 10th neighbour (ties are all correct).
            let kth = try #require(graph.bruteForce(q, k: 10).last).distance
            found += graph.search(q, k: 10, ef: 64, visited: visited).filter { $0.distance <= kth + 1e-6 }.count
        }
        let recall = Double(found) / Double(queries.count * 10)
        #expect(queries.count == 200)
        #expect(recall >= 0.98, "recall@10 \(recall) at ef=64 on \(base.count) real embeddings")
        #expect(graph.verify() == nil)
    }
}

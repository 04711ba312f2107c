import ArgumentParser
import Foundation
import HNSW
import NestorCore
import StoreSQLite

/// Tools for testing durability; not part of the user-facing CLI.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Durability test tools.", shouldDisplay: false,
        subcommands: [IngestLoop.self, Verify.self])

    /// Ingests synthetic documents forever, printing `ACK <id>` once each batch is durable.
    struct IngestLoop: AsyncParsableCommand {
        @Option var db: String
        @Option var collection = "crash"
        @Option var seed: UInt64 = 1

        func run() async throws {
            let store = try SQLiteStore(path: db)
            try await store.migrate()
            let spec = CollectionSpec(name: collection, model: "synthetic", dimensions: 32, coarseDimensions: 16, m: 8,
                                      efConstruction: 40, seed: 7)
            if try await store.collection(named: collection) == nil { try await store.createCollection(spec) }
            let index = try await CollectionIndex(spec: spec, store: store)
            var n = 0
            var rng = SystemRandomNumberGenerator()
            while true {
                let batch = (0..<Int.random(in: 1...8, using: &rng)).map { _ -> CollectionIndex.Input in
                    n += 1
                    let id = "s\(seed)-\(n)"
                    let chunks = (0..<Int.random(in: 1...4, using: &rng)).map { k in
                        CollectionIndex.Chunk(text: "\(id) part \(k)", tokenStart: k * 8, tokenEnd: k * 8 + 8,
                                              vector: (0..<32).map { _ in Float.random(in: -1...1, using: &rng) })
                    }
                    return CollectionIndex.Input(id: id, text: "document \(id)", chunks: chunks)
                }
                // Now and then replace or delete an earlier document too.
                let deletions = n > 20 && Bool.random(using: &rng) ? ["s\(seed)-\(Int.random(in: 1..<(n - 10), using: &rng))"] : []
                // Announce deletions first: a kill between the commit and the ACK lines leaves them
                // in an unknown state, which the checker must allow.
                if !deletions.isEmpty { FileHandle.standardOutput.write(Data("MAYDEL \(deletions.joined(separator: " "))\n".utf8)) }
                try await index.apply(upserts: batch, deletions: deletions)
                // Unbuffered: a line is out before the next batch starts, so a kill cannot lose it.
                let lines = batch.map { "ACK \($0.id) \($0.chunks.count)\n" } + deletions.map { "DEL \($0)\n" }
                FileHandle.standardOutput.write(Data(lines.joined().utf8))
            }
        }
    }

    /// Loads a collection as `serve` would and reports whether the stored graph was intact.
    struct Verify: AsyncParsableCommand {
        @Option var db: String
        @Option var collection = "crash"

        func run() async throws {
            let store = try SQLiteStore(path: db)
            guard let spec = try await store.collection(named: collection) else { throw ValidationError("no collection \(collection)") }
            let index = try await CollectionIndex(spec: spec, store: store)
            let chunks = try await store.chunkVectors(in: collection)
            let g = index.graph
            let live = chunks.labels.filter { g.contains($0) }.count
            let obj: [String: Any] = [
                "intact": index.loadedIntact, "verified": g.verify() == nil,
                "graph_live": g.count, "graph_nodes": g.nodeCount, "graph_deleted": g.deletedCount,
                "chunks": chunks.count, "chunks_in_graph": live,
                // The lexical view: every stored chunk has its terms in the BM25 index, no more, no less.
                "lexical_chunks": index.state.read { s in chunks.labels.filter(s.lexical.contains).count },
                "lexical_live": index.state.read(\.lexical.count),
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}

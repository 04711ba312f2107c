import Foundation
import NestorCore

/// The service on a follower: the replicator hands it the writer's committed changes in log
/// order, and it makes its collections what the writer's became.
extension RetrievalService {
    /// Applies one log entry and publishes its position. Throws when the entry does not fit
    /// this replica's memory; the replicator then loads everything again from a snapshot.
    public func replay(_ entry: LogEntry) async throws {
        switch entry.change {
        case .created(let spec):
            if let reason = Self.mismatch(spec, embedder.info) ?? spec.problem.map({ "collection \(spec.name) cannot be served: \($0)" }) {
                logger.error("collection \(spec.name) is unavailable: \(reason)")
                unavailable[spec.name] = (spec, reason)
            } else {
                loaded[spec.name] = CollectionIndex(emptyCollection: spec, store: store, replica: replica, logger: logger)
            }
        case .dropped(let name):
            loaded[name] = nil
            unavailable[name] = nil
        case .batch(let name, let batch):
            if let index = loaded[name] {
                try await index.replay(batch)
            } else if unavailable[name] == nil {
                throw StoreError(.corrupt, "the log changes collection \(name), which this replica does not hold")
            }
        }
        replica.published(entry.position)
    }

    /// Replaces every collection with what `source` (a snapshot) holds: a follower that fell
    /// behind the log's retention, or whose memory stopped fitting the log. (The caller resets
    /// the position to the snapshot's.)
    public func reload(from source: any IndexStore) async throws {
        (loaded, unavailable) = try await Self.load(source, store: store, info: embedder.info, replica: replica, logger: logger)
    }

    /// This replica has just become the writer: the background work a writer owns starts.
    public func promoted() {
        for index in loaded.values { scheduleRefit(index) }
    }

    /// Every collection's graph in memory compared with the stored records, for the replica
    /// check (`GET /replication/verify`).
    public func verifyGraphs() async throws -> [(collection: String, nodes: Int, differing: Int, headerAgrees: Bool)] {
        var out = [(collection: String, nodes: Int, differing: Int, headerAgrees: Bool)]()
        for (name, index) in loaded.sorted(by: { $0.key < $1.key }) {
            let d = index.differences(from: try await store.graphRecords(of: name))
            out.append((name, d.nodes, d.differing, d.headerAgrees))
        }
        return out
    }
}

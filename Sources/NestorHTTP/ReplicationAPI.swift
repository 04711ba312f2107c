import Hummingbird
import NestorCore
import Retrieval

/// `GET /replication`: this replica's role, log position and writer; `GET
/// /replication/verify`: its graphs in memory compared with the stored records, record by
/// record (meaningful once writes have stopped and the replica has caught up).
struct ReplicationAPI: Sendable {
    let service: RetrievalService

    func register(on router: RecordingRouter) {
        let replica = service.replica
        router.get("/replication") { _, _ in
            RetrievalJSON.writer { w in
                w.object {
                    w.field("role", replica.role.rawValue)
                    w.field("position", Int(replica.position))
                    if let url = replica.writerURL { w.field("writer", url) }
                }
            }.response()
        }
        router.get("/replication/verify") { _, _ in
            let graphs = try await service.verifyGraphs()
            return RetrievalJSON.writer { w in
                w.object {
                    w.field("position", Int(replica.position))
                    w.key("collections")
                    w.array {
                        for g in graphs {
                            w.object {
                                w.field("name", g.collection)
                                w.field("nodes", g.nodes)
                                w.field("differing_records", g.differing)
                                w.key("header_agrees"); w.bool(g.headerAgrees)
                            }
                        }
                    }
                }
            }.response()
        }
    }
}

import Foundation

/// Many concurrent readers, one writer at a time, readers always on a consistent graph:
/// a readers–writer lock around one `HNSWGraph`, plus a pool of visited sets so concurrent
/// searches never share scratch space. (A copy-on-write snapshot per write would copy every
/// vector on each ingest batch; the lock costs readers nothing while no writer is active.)
public final class ConcurrentIndex: @unchecked Sendable {
    // @unchecked: `graph` is only touched under `lock` (shared for reads, exclusive for
    // writes) and `pool` only under `poolLock`.
    private var graph: HNSWGraph
    private var lock = pthread_rwlock_t()
    private var pool: [VisitedSet] = []
    private let poolLock = NSLock()

    public init(_ graph: HNSWGraph) {
        self.graph = graph
        pthread_rwlock_init(&lock, nil)
    }

    deinit { pthread_rwlock_destroy(&lock) }

    public func read<T>(_ body: (HNSWGraph) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body(graph)
    }

    public func write<T>(_ body: (inout HNSWGraph) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body(&graph)
    }

    public func search(_ query: [Float], k: Int, ef: Int, filter: ((UInt64) -> Bool)? = nil) -> [(label: UInt64, distance: Float)] {
        let visited = poolLock.withLock { pool.popLast() } ?? VisitedSet()
        defer { poolLock.withLock { pool.append(visited) } }
        return read { $0.search(query, k: k, ef: ef, filter: filter, visited: visited) }
    }
}

import Foundation
import Logging
import NestorCore
import PostgresNIO

/// The change log: every committed change is a row of `nestor_log`, written in the transaction
/// of the change. The head row is updated last in each such transaction, so its row lock orders
/// them: positions follow commit order with no gaps (a rolled-back transaction's increment is
/// rolled back with it). Followers read the log in order, woken by NOTIFY on `nestor_log`.
extension PostgresStore {
    static let notifyChannel = "nestor_log"

    /// Appends `change` at the next position, inside the caller's transaction; throws `.fenced`
    /// when another process was elected writer after this one.
    func appendLog(_ conn: PostgresConnection, collection: String, _ change: LoggedChange) async throws -> LogPosition {
        let epoch = leaderEpoch.withLock { $0 }
        let rows = if let epoch {
            try await conn.query("UPDATE nestor_log_head SET seq = seq + 1 WHERE id = 1 AND epoch = \(epoch) RETURNING seq, epoch", logger: logger)
        } else {
            // Not elected (a test, or a tool that never claimed): logged, unfenced.
            try await conn.query("UPDATE nestor_log_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, epoch", logger: logger)
        }
        var head: (seq: Int64, epoch: Int64)?
        for try await (seq, e) in rows.decode((Int64, Int64).self) { head = (seq, e) }
        guard let head else {
            throw StoreError(.fenced, "another replica has been elected writer of this database; this process may no longer write to it")
        }
        try await conn.query("""
            INSERT INTO nestor_log (seq, collection, change, epoch)
            VALUES (\(head.seq), \(collection), \(Data(ChangeCodec.encode(change))), \(head.epoch))
            """, logger: logger)
        // Delivered at commit, so a follower woken by it finds the entry.
        for try await _ in try await conn.query("SELECT pg_notify(\(Self.notifyChannel), \(String(head.seq)))::text", logger: logger) {}
        return head.seq
    }

    /// The last committed position, the current epoch and the writer's advertised address.
    public func logHead() async throws -> (position: LogPosition, epoch: Int64, writerURL: String?) {
        for try await (seq, epoch, url) in try await query("SELECT seq, epoch, writer_url FROM nestor_log_head WHERE id = 1")
            .decode((Int64, Int64, String?).self) {
            return (seq, epoch, url)
        }
        throw StoreError(.corrupt, "the change log's head row is missing")
    }

    /// Up to `limit` changes after `position`, in order; nil when the log no longer holds the
    /// next one (trimmed while this replica was away, or a database restored from elsewhere):
    /// the caller loads from the tables again.
    public func changes(after position: LogPosition, limit: Int) async throws -> [LogEntry]? {
        let head = try await logHead().position  // read first: entries read after it are at least as new
        var out = [LogEntry]()
        for try await (seq, bytes) in try await query(
            "SELECT seq, change FROM nestor_log WHERE seq > \(position) ORDER BY seq LIMIT \(limit)"
        ).decode((Int64, Data).self) {
            guard seq == position + Int64(out.count) + 1 else { return nil }
            out.append(LogEntry(position: seq, change: try ChangeCodec.decode([UInt8](bytes))))
        }
        if out.isEmpty, head != position { return nil }
        return out
    }

    /// Calls `wake` whenever a change commits, until cancelled (a session of its own, which a
    /// pooled connection could not promise). Throws when the session is lost.
    public func listenForChanges(_ wake: @Sendable () -> Void) async throws {
        let session = try await PostgresConnection.connect(configuration: sessionConfiguration, id: 3, logger: logger)
        do {
            try await withTaskCancellationHandler {
                for try await _ in try await session.listen(Self.notifyChannel) { wake() }
            } onCancel: {
                session.close().whenComplete { _ in }
            }
        } catch {
            try? await session.close()
            throw Self.storeError(error)
        }
        try? await session.close()
    }

    /// Records this replica's role and applied position (its heartbeat).
    public func heartbeat(replica id: String, url: String?, role: String, position: LogPosition) async throws {
        _ = try await query("""
            INSERT INTO nestor_replicas (id, url, role, position, heartbeat) VALUES (\(id), \(url), \(role), \(position), now())
            ON CONFLICT (id) DO UPDATE SET url = excluded.url, role = excluded.role, position = excluded.position, heartbeat = now()
            """)
    }

    public func forgetReplica(_ id: String) async {
        _ = try? await query("DELETE FROM nestor_replicas WHERE id = \(id)")
    }

    /// The writer's housekeeping: forgets replicas silent for longer than `retention` seconds,
    /// then drops the log below the lowest position a live one has applied. Returns the number
    /// of entries dropped.
    @discardableResult
    public func trimLog(retention seconds: Double) async throws -> Int {
        try await transaction { conn in
            try await conn.query("DELETE FROM nestor_replicas WHERE heartbeat < now() - make_interval(secs => \(seconds))", logger: logger)
            var dropped = 0
            for try await _ in try await conn.query("""
                DELETE FROM nestor_log WHERE seq <= (SELECT min(position) FROM nestor_replicas) RETURNING seq
                """, logger: logger).decode(Int64.self) { dropped += 1 }
            return dropped
        }
    }

    /// The replicas that reported within `seconds`, for the status route.
    public func replicas(seenWithin seconds: Double) async throws -> [(id: String, url: String?, role: String, position: LogPosition)] {
        var out = [(id: String, url: String?, role: String, position: LogPosition)]()
        for try await row in try await query("""
            SELECT id, url, role, position FROM nestor_replicas WHERE heartbeat >= now() - make_interval(secs => \(seconds)) ORDER BY id
            """).decode((String, String?, String, Int64).self) { out.append(row) }
        return out
    }
}

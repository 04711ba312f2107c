import Logging
import NestorCore
import NIOCore
import PostgresNIO

/// Who may write. One session-level advisory lock, on a connection of its own, makes its holder
/// the writer: the server drops it when that session ends, so a crashed writer never leaves it
/// held and the next replica in line gets it by itself. Taking it bumps the log head's epoch,
/// which every logged write checks (`appendLog`): a writer whose lock session was lost while
/// the process lived on is fenced off instead of writing beside its successor. Advisory locks
/// are per database: two Nestor databases on one server do not contend.
extension PostgresStore {
    /// Any fixed key: every Nestor instance asks for the same one (migrations use 7402385).
    static let writerLockKey: Int64 = 7_402_386

    /// The epoch and log head this process was elected at.
    public struct Election: Sendable {
        public var epoch: Int64
        public var position: LogPosition
    }

    /// Takes the writer's lock, waiting for it when `wait` (a follower in line) or giving up at
    /// once (nil); then advertises `url` as the writer's address. Cancelling a wait closes its
    /// session.
    public func lead(advertising url: String?, wait: Bool) async throws -> Election? {
        if let epoch = leaderEpoch.withLock({ $0 }) { return Election(epoch: epoch, position: try await logHead().position) }
        let session: PostgresConnection
        do {
            session = try await PostgresConnection.connect(configuration: sessionConfiguration, id: 1, logger: logger)
        } catch {
            throw Self.storeError(error)
        }
        do {
            if wait {
                try await withTaskCancellationHandler {
                    for try await _ in try await session.query("SELECT pg_advisory_lock(\(Self.writerLockKey))::text", logger: logger) {}
                } onCancel: {
                    session.close().whenComplete { _ in }
                }
            } else {
                var granted = false
                for try await g in try await session.query("SELECT pg_try_advisory_lock(\(Self.writerLockKey))", logger: logger).decode(Bool.self) {
                    granted = g
                }
                guard granted else {
                    try? await session.close()
                    return nil
                }
            }
            var election: Election?
            // Waits for the head row if a fenced writer's transaction still holds it.
            for try await (epoch, seq) in try await session.query("""
                UPDATE nestor_log_head SET epoch = epoch + 1, writer_url = \(url) WHERE id = 1 RETURNING epoch, seq
                """, logger: logger).decode((Int64, Int64).self) {
                election = Election(epoch: epoch, position: seq)
            }
            guard let election else { throw StoreError(.corrupt, "the change log's head row is missing") }
            exclusiveSession.withLock { $0 = session }
            leaderEpoch.withLock { $0 = election.epoch }
            return election
        } catch {
            try? await session.close()
            throw Self.storeError(error)
        }
    }

    /// Returns when the writer's lock session has ended (the server went away, or the session
    /// was killed): from then on this process's writes are fenced. Also returns when the task
    /// is cancelled (polled: a close future cannot be cancelled).
    public func leadershipLost() async {
        while let session = exclusiveSession.withLock({ $0 }), !session.isClosed, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    public func claimExclusiveUse() async throws {
        guard try await lead(advertising: nil, wait: false) != nil else {
            throw StoreError(.busy, "another Nestor process (a running `nestor serve`?) is writing to this PostgreSQL database")
        }
    }

    public func releaseExclusiveUse() async {
        guard let session = exclusiveSession.withLock({ s -> PostgresConnection? in defer { s = nil }; return s }) else { return }
        leaderEpoch.withLock { $0 = nil }
        try? await session.close()
    }
}

import Logging
import NestorCore
import PostgresNIO

extension PostgresStore {
    /// Any fixed key: every Nestor instance asks for the same one (migrations use 7402385).
    static let exclusiveUseLockKey: Int64 = 7_402_386

    /// A session-level advisory lock on a connection of its own, held while the store lives.
    /// The server drops it when that session ends, so a crashed server never leaves it held.
    /// Advisory locks are per database: two Nestor databases on one server do not contend.
    public func claimExclusiveUse() async throws {
        guard exclusiveSession.withLock({ $0 == nil }) else { return }
        let session = try await PostgresConnection.connect(configuration: sessionConfiguration, id: 1, logger: logger)
        do {
            var granted = false
            for try await g in try await session.query("SELECT pg_try_advisory_lock(\(Self.exclusiveUseLockKey))", logger: logger)
                .decode(Bool.self) { granted = g }
            guard granted else {
                throw StoreError(.busy, "another Nestor process (a running `nestor serve`?) is using this PostgreSQL database")
            }
        } catch {
            try? await session.close()
            throw error
        }
        exclusiveSession.withLock { $0 = session }
    }

    public func releaseExclusiveUse() async {
        guard let session = exclusiveSession.withLock({ s -> PostgresConnection? in defer { s = nil }; return s }) else { return }
        try? await session.close()
    }
}

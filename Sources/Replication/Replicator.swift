import Foundation
import Logging
import NestorCore
import Retrieval
import StorePostgres

/// One replica's part in a group of `nestor serve` processes on one PostgreSQL database.
///
/// Joining: the process that gets the writer's lock at once is the writer and loads from the
/// tables; any other loads a snapshot (one repeatable-read transaction, which names the log
/// position it shows) and is a follower. A follower applies the change log from that position
/// on, woken by NOTIFY and polling as a fallback, while it waits in line for the lock; when
/// the writer's session ends, the lock passes to one follower, which applies the log to its
/// end and becomes the writer. Every replica records its position with a heartbeat; the writer
/// trims the log below the lowest live one. A writer that loses its lock session while it runs
/// stops (its memory may no longer be the database's once a successor writes): restarted, it
/// rejoins as a follower.
public final class Replicator: Sendable {
    let store: PostgresStore
    public let replica: ReplicaState
    /// This replica's address for forwarded writes (the writer advertises it in the log head).
    let url: String?
    let id: String
    let settings: Settings
    let logger: Logger

    public struct Settings: Sendable {
        /// A replica silent for longer than this is forgotten, and the log below its position
        /// may be trimmed; coming back, it loads from the tables again.
        public var retention: Double = 300
        public var heartbeat: Duration = .seconds(1)
        /// How often a follower reads the log when no NOTIFY woke it.
        public var poll: Duration = .milliseconds(500)
        /// Entries read per round trip.
        public var page = 64
        public init() {}
    }

    public init(store: PostgresStore, advertising url: String?, settings: Settings = Settings(), logger: Logger) {
        self.store = store
        self.url = url
        self.settings = settings
        self.logger = logger
        replica = ReplicaState()
        let host = ProcessInfo.processInfo.hostName
        id = "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Joins as the writer when no one leads, else as a follower; `make` builds the service
    /// (reading through the snapshot it is given, when one is).
    public func join(_ make: (_ source: (any IndexStore)?, _ replica: ReplicaState) async throws -> RetrievalService) async throws -> RetrievalService {
        if let election = try await store.lead(advertising: url, wait: false) {
            replica.set(role: .writer, writerURL: url)
            replica.reset(to: election.position)
            logger.notice("this replica is the writer", metadata: ["position": "\(election.position)", "epoch": "\(election.epoch)"])
            return try await make(nil, replica)
        }
        let head = try await store.logHead()
        replica.set(role: .follower, writerURL: head.writerURL)
        // Reported before loading, so the writer keeps the log from here while the snapshot loads.
        try await store.heartbeat(replica: id, url: url, role: ReplicaState.Role.follower.rawValue, position: head.position)
        let (service, position) = try await store.withSnapshot { snapshot in try await make(snapshot, replica) }
        replica.reset(to: position)
        logger.notice("this replica is a follower", metadata: ["position": "\(position)", "writer": "\(replica.writerURL ?? "none")"])
        return service
    }

    /// Follows (as a follower) until elected, then leads until the lock is lost (which
    /// throws) or the task is cancelled (shutdown).
    public func run(_ service: RetrievalService) async throws {
        do {
            try await takePart(service)
        } catch {
            await store.forgetReplica(id)
            throw error
        }
        await store.forgetReplica(id)
    }

    private func takePart(_ service: RetrievalService) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.heartbeats() }
            group.addTask {
                if self.replica.role == .follower { try await self.followUntilElected(service) }
                await self.store.leadershipLost()
                try Task.checkCancellation()
                throw ReplicationError("the writer's lock session to PostgreSQL was lost; stopping, since another replica may now be "
                                       + "writing (restart this process: it rejoins as a follower)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func followUntilElected(_ service: RetrievalService) async throws {
        let election = try await withThrowingTaskGroup(of: PostgresStore.Election?.self) { group in
            group.addTask { try await self.follow(service); return nil }
            group.addTask { try await self.waitToLead() }
            while let next = try await group.next() {
                if let election = next {
                    group.cancelAll()
                    return election
                }
            }
            throw CancellationError()
        }
        // No one else can commit now: apply what the last writer committed, then take over.
        while replica.position < election.position { try await applyAvailable(service) }
        replica.set(role: .writer, writerURL: url)
        await service.promoted()
        logger.notice("this replica is now the writer", metadata: ["position": "\(election.position)", "epoch": "\(election.epoch)"])
    }

    /// Waits in line for the writer's lock. A lost session (PostgreSQL restarting) is retried:
    /// a follower keeps serving what it has meanwhile.
    private func waitToLead() async throws -> PostgresStore.Election? {
        while true {
            do {
                return try await store.lead(advertising: url, wait: true)
            } catch {
                try Task.checkCancellation()
                logger.warning("waiting for the writer's lock failed (retrying): \(error)")
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Applies the log as it grows, until cancelled. Failures (the database unreachable) are
    /// logged and retried; they never stop the replica serving what it has.
    private func follow(_ service: RetrievalService) async throws {
        let wake = WakeSignal()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await self.store.listenForChanges { wake.notify() }
                    } catch {
                        if Task.isCancelled { return }
                        self.logger.warning("listening for log changes failed (polling meanwhile): \(error)")
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await self.applyAvailable(service)
                    } catch {
                        if Task.isCancelled { return }
                        self.logger.warning("applying the change log failed (retrying): \(error)")
                        try? await Task.sleep(for: .seconds(1))
                    }
                    await wake.wait(timeout: self.settings.poll)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Applies every entry the log holds after this replica's position. An entry that does
    /// not fit (or a log trimmed past this position) makes the replica load a fresh snapshot.
    func applyAvailable(_ service: RetrievalService) async throws {
        while true {
            guard let entries = try await store.changes(after: replica.position, limit: settings.page) else {
                logger.warning("the change log no longer holds position \(replica.position + 1); loading again from the tables")
                try await reload(service)
                continue
            }
            if entries.isEmpty { return }
            for entry in entries {
                do {
                    try await service.replay(entry)
                } catch {
                    logger.error("log entry \(entry.position) does not fit this replica's memory (\(error)); loading again from the tables")
                    try await reload(service)
                    break
                }
            }
        }
    }

    private func reload(_ service: RetrievalService) async throws {
        let (_, position) = try await store.withSnapshot { snapshot in try await service.reload(from: snapshot) }
        replica.reset(to: position)
    }

    /// Position reports; the writer's log trimming and the followers' view of the writer.
    private func heartbeats() async throws {
        var beat = 0
        var stalled: (position: LogPosition, head: LogPosition)?
        while !Task.isCancelled {
            do {
                let role = replica.role
                try await store.heartbeat(replica: id, url: url, role: role.rawValue, position: replica.position)
                let head = try await store.logHead()
                if role == .writer {
                    // A commit whose acknowledgement was lost (the connection dropped at COMMIT)
                    // is never published by its writer: after a beat with no progress, the
                    // position moves to the head (that collection was reloaded from the tables).
                    let now = (replica.position, head.position)
                    if now.0 < now.1, let s = stalled, s == now { replica.reset(to: head.position) }
                    stalled = now
                    if beat % 5 == 0 { try await store.trimLog(retention: settings.retention) }
                } else {
                    replica.set(writerURL: head.writerURL)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("replica heartbeat failed: \(error)")
            }
            beat += 1
            try? await Task.sleep(for: settings.heartbeat)
        }
    }
}

public struct ReplicationError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

import Foundation
import Synchronization

/// What this process is among the replicas of one database, and how far its memory has got in
/// the change log. Shared by the replicator (which sets the role and applies the log), the
/// service (which refuses writes on a follower and reports what it published) and HTTP (which
/// forwards writes, stamps positions on responses and holds reads that ask for a position).
public final class ReplicaState: Sendable {
    public enum Role: String, Sendable {
        /// The only process on its store (SQLite, or the tools): no log positions.
        case standalone
        case writer
        case follower
    }

    private struct Inner {
        var role: Role
        var writerURL: String?
        /// Every change up to here is visible in memory.
        var position: LogPosition
        /// Changes published out of order (a writer's collections commit concurrently), waiting
        /// for the gap below them to close.
        var ahead: Set<LogPosition> = []
    }

    private let inner: Mutex<Inner>

    public init(role: Role = .standalone, position: LogPosition = 0) {
        inner = Mutex(Inner(role: role, position: position))
    }

    public var role: Role { inner.withLock { $0.role } }
    /// Where writes go when this replica is a follower (nil: unknown, or this is the writer).
    public var writerURL: String? { inner.withLock { $0.role == .writer ? nil : $0.writerURL } }
    public var position: LogPosition { inner.withLock { $0.position } }
    public var acceptsWrites: Bool { role != .follower }

    public func set(role: Role, writerURL: String?) {
        inner.withLock {
            $0.role = role
            $0.writerURL = writerURL
        }
    }

    public func set(writerURL: String?) { inner.withLock { $0.writerURL = writerURL } }

    /// Starts counting from `position` (a snapshot load, or a writer's election).
    public func reset(to position: LogPosition) {
        inner.withLock {
            $0.position = position
            $0.ahead.removeAll()
        }
    }

    /// `seq` is committed and visible in memory. The position advances over every contiguous
    /// published change; the request being served (if any) learns `seq` through `commits`.
    public func published(_ seq: LogPosition) {
        Self.commits?.note(seq)
        inner.withLock { s in
            guard seq > s.position else { return }
            s.ahead.insert(seq)
            while s.ahead.remove(s.position + 1) != nil { s.position += 1 }
        }
    }

    /// Waits until the position reaches `target`; false when `timeout` passes first.
    public func wait(until target: LogPosition, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while position < target {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// The positions of the changes the current request committed (set around a request by the
    /// HTTP layer), so a write's response names its own commit, not only the replica's
    /// position, which may lag behind it while another collection's write is in flight.
    @TaskLocal public static var commits: CommitRecorder?
}

/// The highest log position one request committed.
public final class CommitRecorder: Sendable {
    private let highest = Mutex<LogPosition?>(nil)
    public init() {}
    public func note(_ seq: LogPosition) { highest.withLock { $0 = max($0 ?? seq, seq) } }
    public var position: LogPosition? { highest.withLock { $0 } }
}

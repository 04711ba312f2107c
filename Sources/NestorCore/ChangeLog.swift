/// A position in the store's change log: the sequence number of a committed change, in commit
/// order with no gaps (PostgreSQL keeps the log; SQLite, single-process, keeps none).
public typealias LogPosition = Int64

/// One committed change as the log carries it: enough for a follower to make its memory what
/// the writer's became, without reading the tables (which may already be further on).
public enum LoggedChange: Sendable {
    case created(CollectionSpec)
    case dropped(String)
    case batch(collection: String, BatchWrite)
}

/// A change with its position.
public struct LogEntry: Sendable {
    public var position: LogPosition
    public var change: LoggedChange
    public init(position: LogPosition, change: LoggedChange) {
        self.position = position
        self.change = change
    }
}

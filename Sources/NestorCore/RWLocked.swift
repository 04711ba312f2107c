import Foundation

/// A value behind a readers–writer lock: many concurrent readers, one writer, and readers never
/// see a half-applied write. Searches read; ingest writes.
public final class RWLocked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched while `lock` is held (shared for reads, exclusive
    // for writes); Value itself must be safe to read from several threads at once, which holds
    // for the value types stored here.
    private var value: Value
    private var lock = pthread_rwlock_t()

    public init(_ value: Value) {
        self.value = value
        pthread_rwlock_init(&lock, nil)
    }

    deinit { pthread_rwlock_destroy(&lock) }

    public func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body(value)
    }

    public func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body(&value)
    }
}

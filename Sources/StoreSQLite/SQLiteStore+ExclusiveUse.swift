import Foundation
import NestorCore

extension SQLiteStore {
    /// An advisory `flock` on `<database>.lock` beside the database. The kernel drops it when
    /// the process ends, however it ends, so a crashed server never leaves the file locked.
    /// (SQLite's own locks are per transaction and cannot say "a server owns this file".)
    public func claimExclusiveUse() async throws {
        try exclusiveLock.withLock { fd in
            guard fd < 0 else { return }
            let lockPath = path + ".lock"
            let opened = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw StoreError(.backend, "cannot open \(lockPath): \(String(cString: strerror(errno)))")
            }
            guard flock(opened, LOCK_EX | LOCK_NB) == 0 else {
                close(opened)
                throw StoreError(.busy, "another Nestor process (a running `nestor serve`?) is using \(path)")
            }
            fd = opened
        }
    }

    public func releaseExclusiveUse() async {
        exclusiveLock.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }
}

import Synchronization

/// A wake-up call between tasks: `notify` from anywhere, `wait` until the next one or a
/// timeout. A notify that finds no waiter is kept for the next wait, so none is lost between
/// two waits.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func notify() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else { s.pending = true; return nil }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns at the next notify (at once if one came since the last wait) or after `timeout`.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { c in
                    // Registered under the lock, and refused once cancelled: a release below
                    // either finds this waiter or comes before it and is seen as cancellation.
                    let now = self.state.withLock { s -> Bool in
                        if s.pending || Task.isCancelled { s.pending = false; return true }
                        s.waiter = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in defer { s.waiter = nil }; return s.waiter }
            waiter?.resume()
        }
    }
}

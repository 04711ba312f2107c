import Dispatch
import Foundation
import Synchronization

/// Runs the shares of one split product (`threads` > 1: a batch alone in flight) on helper
/// threads that stay awake between the products of a forward pass.
///
/// Why not only `DispatchQueue.concurrentPerform`: a lone query runs about 24 split products
/// a few hundred microseconds apart, and waking a parked pool thread for each one cost a sixth
/// of the query's time (futex wake-ups and context switches in the profile). The helpers here
/// keep polling for a millisecond after each share, yielding the core to any other runnable
/// thread, then sleep on a semaphore; so an idle server uses no CPU. One caller at a time: a
/// second concurrent caller, or more shares than helpers, falls back to `concurrentPerform`.
public enum Parallel {
    /// Calls `body(0)`, …, `body(count - 1)` concurrently, `body(0)` on the calling thread, and
    /// returns when all have finished.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { return body(0) }
        if HelperPool.shared.run(count, body) { return }
        withoutActuallyEscaping(body) { b in
            let share = Share(body: b)
            DispatchQueue.concurrentPerform(iterations: count) { share.body($0) }
        }
    }
}

extension Parallel {
    /// Splits columns 0..<n into up to `threads` shares of whole `unit`s (a kernel's panel width)
    /// and runs `body` on each share's range concurrently, or `body(0..<n)` alone. Each share
    /// writes only its own columns, which is what makes the split safe.
    ///
    /// The one rule for when a product is worth splitting: at least two units per share and
    /// `work` (multiply-adds) of at least four BLAS thresholds; below that the hand-off costs
    /// more than the second core saves.
    public static func columns(_ n: Int, unit: Int, threads: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let units = (n + unit - 1) / unit
        let shares = work >= 4 * Gemm.blasThreshold ? max(1, min(threads, units / 2)) : 1
        if shares == 1 { return body(0..<n) }
        let per = (units + shares - 1) / shares * unit
        run(shares) { t in
            let range = (t * per)..<min(n, (t + 1) * per)
            if !range.isEmpty { body(range) }
        }
    }
}

/// One split product's closure, shared with helper threads. @unchecked: helpers call it only
/// between the caller publishing it and the caller seeing every share finished, while the
/// caller's frame (which owns everything the closure borrows) is still live; each share writes
/// only its own columns.
private struct Share: @unchecked Sendable {
    let body: (Int) -> Void
}

private final class HelperPool: Sendable {
    static let shared = HelperPool(helpers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// How long a helper keeps polling after its last share before it sleeps.
    static let spinNanoseconds: UInt64 = 1_000_000

    private final class Helper: Sendable {
        /// Bumped by the caller for each share it hands this helper.
        let generation = Atomic<Int>(0)
        /// Set by the helper before it sleeps; whoever clears it owes or takes the wake-up.
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    private let helpers: [Helper]
    private let busy = Atomic<Bool>(false)
    private let current = Mutex<Share?>(nil)
    private let remaining = Atomic<Int>(0)

    init(helpers count: Int) {
        helpers = (0..<count).map { _ in Helper() }
        for (i, helper) in helpers.enumerated() {
            let thread = Thread { [self] in self.loop(helper, index: i + 1) }
            thread.name = "nestor-gemm-\(i + 1)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// False (nothing run) when another caller holds the pool or there are too few helpers.
    func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        guard count - 1 <= helpers.count,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { b in
            current.withLock { $0 = Share(body: b) }
            remaining.store(count - 1, ordering: .sequentiallyConsistent)
            for helper in helpers.prefix(count - 1) {
                helper.generation.add(1, ordering: .sequentiallyConsistent)
                if helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.signal() }
            }
            b(0)
            while remaining.load(ordering: .acquiring) > 0 { sched_yield() }
            current.withLock { $0 = nil }
        }
        return true
    }

    private func loop(_ helper: Helper, index: Int) -> Never {
        var seen = 0
        while true {
            var deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            var g = helper.generation.load(ordering: .acquiring)
            while g == seen {
                if DispatchTime.now().uptimeNanoseconds < deadline {
                    sched_yield()
                } else {
                    // Announce the sleep, then look once more: a caller that bumped the
                    // generation before seeing the flag will not signal, so do not wait for it.
                    helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if helper.generation.load(ordering: .sequentiallyConsistent) == seen {
                        helper.wake.wait()
                    } else if !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                        helper.wake.wait()  // the caller cleared the flag first: consume its signal
                    }
                    deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
                }
                g = helper.generation.load(ordering: .acquiring)
            }
            seen = g
            if let share = current.withLock({ $0 }) { share.body(index) }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

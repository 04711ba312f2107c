import Foundation
import Synchronization

/// Merges concurrent embedding requests into engine batches and runs them on dedicated
/// threads, away from Swift's cooperative pool (a forward pass blocks its thread for
/// milliseconds to seconds).
///
/// There is no waiting timer: while batches run, new sequences queue up, and the next batch
/// takes as many as fit the token budget. Under load this batches 64 one-sentence clients like
/// one 64-sentence request; when idle, a lone query starts at once. With several workers (one
/// per core, BLAS single-threaded), a large request is shared out so every core has a batch.
public final class BatchScheduler: Sendable {
    /// One sequence to run: its token ids, how many of them are prompt (for pooling modes that
    /// leave the prompt out) and, for a cross-encoder's (query, document) pair, the template's
    /// type ids.
    public struct Item: Sendable, Equatable {
        public var tokens: [Int]
        public var promptLength: Int
        public var typeIds: [Int]?
        public init(tokens: [Int], promptLength: Int = 0, typeIds: [Int]? = nil) {
            self.tokens = tokens
            self.promptLength = promptLength
            self.typeIds = typeIds
        }
    }

    /// Runs one batch and returns one vector per item (for a reranker, its pair's scores). The
    /// second argument is how many threads the batch may use: all workers' worth when it is the
    /// only work in flight, else one.
    public typealias BatchRunner = @Sendable ([Item], Int) throws -> [[Float]]

    /// Upper bound on the tokens of one forward pass. Batches are packed (no padding), so this
    /// is the sum of the sequences' real lengths.
    public let maxBatchTokens: Int
    public let maxBatchSize: Int
    public let workers: Int
    private let runner: BatchRunner
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    private struct State {
        var queue: [Pending] = []
        var stopped = false
        /// Batches being executed right now.
        var running = 0
    }

    private struct Pending: Sendable {
        let item: Item
        let slot: Int
        let job: Job
    }

    /// One caller's request: several sequences, one continuation, resumed when all are done.
    private final class Job: Sendable {
        // Resumed exactly once: when `remaining` reaches zero, or on the first error.
        private struct Inner {
            var results: [[Float]]
            var remaining: Int
            var continuation: CheckedContinuation<[[Float]], Error>?
        }
        private let lock: Mutex<Inner>

        init(count: Int, continuation: CheckedContinuation<[[Float]], Error>) {
            lock = Mutex(Inner(results: Array(repeating: [], count: count), remaining: count, continuation: continuation))
        }

        func deliver(_ vector: [Float], at slot: Int) {
            let done: (CheckedContinuation<[[Float]], Error>, [[Float]])? = lock.withLock { inner in
                guard inner.continuation != nil else { return nil }
                inner.results[slot] = vector
                inner.remaining -= 1
                guard inner.remaining == 0, let c = inner.continuation else { return nil }
                inner.continuation = nil
                return (c, inner.results)
            }
            if let (c, results) = done { c.resume(returning: results) }
        }

        func fail(_ error: Error) {
            let c: CheckedContinuation<[[Float]], Error>? = lock.withLock { inner in
                defer { inner.continuation = nil }
                return inner.continuation
            }
            c?.resume(throwing: error)
        }
    }

    public init(maxBatchTokens: Int = 16_384, maxBatchSize: Int = 256, workers: Int = 1, runner: @escaping BatchRunner) {
        self.maxBatchTokens = max(1, maxBatchTokens)
        self.maxBatchSize = max(1, maxBatchSize)
        self.workers = max(1, workers)
        self.runner = runner
        for i in 0..<self.workers {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "nestor-inference-\(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the workers after the queued work; later submissions fail.
    public func shutdown() {
        state.withLock { $0.stopped = true }
        for _ in 0..<workers { wakeup.signal() }
    }

    /// Embeds `sequences`, sharing forward passes with whatever else is queued.
    public func run(_ sequences: [[Int]]) async throws -> [[Float]] {
        try await run(sequences.map { Item(tokens: $0) })
    }

    public func run(_ sequences: [Item]) async throws -> [[Float]] {
        if sequences.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let job = Job(count: sequences.count, continuation: continuation)
            let accepted = state.withLock { s -> Bool in
                guard !s.stopped else { return false }
                for (i, seq) in sequences.enumerated() { s.queue.append(Pending(item: seq, slot: i, job: job)) }
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                job.fail(EmbeddingErrorShim.stopped)
            }
        }
    }

    private func workLoop() {
        while true {
            wakeup.wait()
            while let (batch, more) = takeBatch() {
                // Work remains: wake another worker to share it.
                if more && workers > 1 { wakeup.signal() }
                let alone = state.withLock { $0.running == 1 && $0.queue.isEmpty }
                execute(batch, threads: alone ? workers : 1)
                state.withLock { $0.running -= 1 }
            }
            if state.withLock({ $0.stopped && $0.queue.isEmpty }) { return }
        }
    }

    /// Takes the next batch: queued sequences oldest first (nothing starves) while their total
    /// length fits the token budget, skipping one that does not fit for later, shorter ones. A
    /// single over-budget sequence still runs alone. (Batches are packed, so mixing lengths
    /// costs nothing: there is no padding to keep small.)
    private func takeBatch() -> ([Pending], Bool)? {
        state.withLock { s -> ([Pending], Bool)? in
            guard !s.queue.isEmpty else { return nil }
            // Each idle worker takes its share of what is queued, so parallel workers all get
            // some — shares of the workers still idle, so a request of 8 splits 4 + 4, not
            // 4 + 2 + 1 + 1 (a batch of one streams every weight for a single sequence).
            let idle = max(1, workers - s.running)
            let cap = min(maxBatchSize, max(1, (s.queue.count + idle - 1) / idle))
            let window = min(s.queue.count, maxBatchSize * 4)
            var chosen = [0]
            var tokens = s.queue[0].item.tokens.count
            for i in 1..<max(1, window) where chosen.count < cap {
                let t = s.queue[i].item.tokens.count
                if tokens + t > maxBatchTokens { continue }
                tokens += t
                chosen.append(i)
            }
            let batch = chosen.map { s.queue[$0] }
            for i in chosen.reversed() { s.queue.remove(at: i) }
            s.running += 1
            return (batch, !s.queue.isEmpty)
        }
    }

    private func execute(_ batch: [Pending], threads: Int) {
        do {
            let vectors = try runner(batch.map(\.item), threads)
            for (p, v) in zip(batch, vectors) { p.job.deliver(v, at: p.slot) }
        } catch {
            for p in batch { p.job.fail(error) }
        }
    }
}

enum EmbeddingErrorShim: Error { case stopped }

import Foundation
import Synchronization
import Testing
@testable import EmbeddingEngine

@Suite struct BatchSchedulerTests {
    /// A runner whose "vector" is the sequence's own tokens as floats, recording batch sizes.
    final class Recorder: Sendable {
        let batches = Mutex<[Int]>([])
        func run(_ items: [BatchScheduler.Item]) -> [[Float]] {
            batches.withLock { $0.append(items.count) }
            return items.map { $0.tokens.map(Float.init) }
        }
    }

    @Test func returnsResultsInInputOrder() async throws {
        let rec = Recorder()
        let s = BatchScheduler(maxBatchTokens: 64) { items, _ in rec.run(items) }
        let input = [[1, 2, 3], [4], [5, 6], [], [7, 8, 9, 10]]
        let out = try await s.run(input)
        #expect(out == input.map { $0.map(Float.init) })
    }

    @Test func concurrentCallersShareBatches() async throws {
        let rec = Recorder()
        let s = BatchScheduler(maxBatchTokens: 10_000) { items, _ in
            usleep(2_000)
            return rec.run(items)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let out = try await s.run([[i, i + 1]])
                    #expect(out == [[Float(i), Float(i + 1)]])
                }
            }
            try await group.waitForAll()
        }
        let batches = rec.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 64)
        #expect(batches.count < 64, "concurrent requests should be merged, got \(batches)")
    }

    @Test func respectsTokenBudget() async throws {
        let rec = Recorder()
        let s = BatchScheduler(maxBatchTokens: 8) { items, _ in rec.run(items) }
        _ = try await s.run(Array(repeating: [1, 2, 3, 4], count: 10))
        #expect(rec.batches.withLock { $0 }.allSatisfy { $0 <= 2 })
    }

    @Test func runnerErrorsReachTheCaller() async {
        struct Boom: Error {}
        let s = BatchScheduler { _, _ in throw Boom() }
        await #expect(throws: Boom.self) { try await s.run([[1]]) }
    }
}

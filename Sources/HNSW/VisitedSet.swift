/// Marks visited nodes with a generation number, so clearing between searches is O(1) instead
/// of O(n) (hnswlib's `VisitedList`). One per concurrent search. The marks live in a raw buffer:
/// an array in a class would pay a runtime exclusivity check on every visit of the hot loop.
public final class VisitedSet {
    private var marks: UnsafeMutablePointer<UInt16>
    private var capacity = 0
    private var generation: UInt16 = 0

    public init() { marks = .allocate(capacity: 1) }
    deinit { marks.deallocate() }

    /// Starts a search over `needed` nodes; returns the marks and the generation that means
    /// "visited" in this search (callers keep both in locals for the hot loop).
    func reset(capacity needed: Int) -> (marks: UnsafeMutablePointer<UInt16>, generation: UInt16) {
        if capacity < needed {
            let grown = max(needed, capacity * 2)
            let fresh = UnsafeMutablePointer<UInt16>.allocate(capacity: grown)
            fresh.initialize(repeating: 0, count: grown)
            marks.deallocate()
            marks = fresh
            capacity = grown
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: capacity)
            generation = 1
        }
        return (marks, generation)
    }
}

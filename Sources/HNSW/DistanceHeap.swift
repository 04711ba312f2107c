/// A binary heap of (distance, node), min-first or max-first.
struct DistanceHeap {
    private(set) var items: [(Float, Int32)] = []
    let maxFirst: Bool

    init(maxFirst: Bool) { self.maxFirst = maxFirst }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: (Float, Int32)? { items.first }

    @inline(__always) private func before(_ a: (Float, Int32), _ b: (Float, Int32)) -> Bool {
        maxFirst ? (a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)) : (a.0 < b.0 || (a.0 == b.0 && a.1 < b.1))
    }

    mutating func push(_ d: Float, _ n: Int32) {
        items.append((d, n))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    @discardableResult mutating func pop() -> (Float, Int32)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, before(items[l], items[m]) { m = l }
                if r < items.count, before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}

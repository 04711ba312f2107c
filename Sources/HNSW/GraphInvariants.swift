extension HNSWGraph {
    /// Structural invariants; nil when they all hold, else the first violation.
    public func verify() -> String? {
        let n = labels.count
        guard vectors.count == n * dimension, levels.count == n, deleted.count == n, upper.count == n,
              level0.count == n * (1 + maxM0) else { return "array sizes disagree with \(n) nodes" }
        if n == 0 { return entryPoint == -1 ? nil : "empty graph with an entry point" }
        guard entryPoint >= 0, Int(entryPoint) < n else { return "entry point \(entryPoint) out of range" }
        guard Int(levels[Int(entryPoint)]) == maxLevel, levels.allSatisfy({ Int($0) <= maxLevel }) else {
            return "entry point is not on the top level"
        }
        for node in 0..<n {
            guard upper[node].count == Int(levels[node]) * (1 + m) else { return "node \(node) has wrong upper lists" }
            for level in 0...Int(levels[node]) {
                let limit = level == 0 ? maxM0 : m
                let countSlot = level == 0 ? Int(level0[node * (1 + maxM0)]) : Int(upper[node][(level - 1) * (1 + m)])
                guard countSlot <= limit else { return "node \(node) level \(level) lists \(countSlot) > \(limit) neighbours" }
                for x in neighbours(Int32(node), level: level) {
                    guard Int(x) < n else { return "node \(node) links to \(x), out of range" }
                    guard Int(x) != node else { return "node \(node) links to itself" }
                    guard Int(levels[Int(x)]) >= level else { return "node \(node) links to \(x) above its level" }
                }
            }
        }
        for (label, node) in labelToNode where labels[Int(node)] != label || deleted[Int(node)] {
            return "label \(label) maps to the wrong node"
        }
        for (label, node) in pending where labels[Int(node)] != label || !deleted[Int(node)] || labelToNode[label] != nil {
            return "staged label \(label) maps to the wrong node"
        }
        for node in free where !deleted[Int(node)] || pending[labels[Int(node)]] == node {
            return "free node \(node) is in use"
        }
        return nil
    }
}

import CPrefetch
import Foundation
import HNSW
import Lexical
import VectorMath

extension SearchState {
    /// A search in the requested mode. Every mode applies the same filter: a dense ranking, a
    /// BM25 ranking, or both fused.
    public func search(_ query: [Float], _ o: SearchOptions, visited: VisitedSet? = nil) -> SearchOutcome {
        let allowed = o.filter.map { f in Set(metadata.lazy.filter { f.matches($0.value) }.map(\.key)) }
        switch o.mode {
        case .dense:
            return dense(query, o, allowed: allowed, visited: visited)
        case .lexical:
            let start = DispatchTime.now().uptimeNanoseconds
            let hits = lexicalRanking(o.text ?? "", k: o.topK, allowed: allowed)
            var out = SearchOutcome(hits: hits, path: .none, candidates: hits.count, coarseSeconds: 0, rerankSeconds: 0)
            out.lexicalSeconds = Self.seconds(since: start)
            return out
        case .hybrid:
            var d = o
            d.topK = max(o.topK, o.fusionDepth)
            d.rerankDepth = o.rerankDepth == 0 ? 0 : max(o.rerankDepth, d.topK)
            var out = dense(query, d, allowed: allowed, visited: visited)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let lexical = lexicalRanking(o.text ?? "", k: d.topK, allowed: allowed)
            let t1 = DispatchTime.now().uptimeNanoseconds
            out.hits = Self.fuse(dense: out.hits, lexical: lexical, fusion: o.fusion, weighting: o.lexicalWeighting, k: o.topK)
            out.lexicalSeconds = Double(t1 - t0) / 1e9
            out.fusionSeconds = Self.seconds(since: t1)
            return out
        }
    }

    static func seconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }

    /// BM25 over the analysed query, restricted to the allowed documents.
    func lexicalRanking(_ text: String, k: Int, allowed: Set<String>?) -> [SearchHit] {
        let terms = Analyzer.terms(text, options: analyzer)
        let accept: ((UInt64) -> Bool)? = allowed.map { set in { label in documentOf[label].map(set.contains) ?? false } }
        return lexical.search(terms, k: k, accept: accept).enumerated().compactMap { i, r in
            documentOf[r.label].map {
                var h = SearchHit(label: r.label, documentId: $0, score: r.score, lexicalRank: i + 1)
                h.lexicalCoverage = r.coverage
                return h
            }
        }
    }

    /// Merges a dense and a lexical ranking (each best first) into the top `k`.
    /// With `.coverage` weighting, each lexical contribution is scaled by the hit's coverage of
    /// the query's terms (measured on the Debian and cross-lingual sets: README, *Hybrid search*).
    static func fuse(dense: [SearchHit], lexical: [SearchHit], fusion: Fusion, weighting: LexicalWeighting = .coverage, k: Int) -> [SearchHit] {
        var merged = [UInt64: SearchHit]()
        for (i, h) in dense.enumerated() {
            var x = h
            x.denseRank = i + 1
            merged[h.label] = x
        }
        for (i, h) in lexical.enumerated() {
            if merged[h.label] == nil { merged[h.label] = h }
            merged[h.label]?.lexicalRank = i + 1
            merged[h.label]?.lexicalCoverage = h.lexicalCoverage
        }
        func trust(_ h: SearchHit) -> Double { weighting == .coverage ? Double(h.lexicalCoverage ?? 1) : 1 }
        let denseScore = Dictionary(uniqueKeysWithValues: dense.map { ($0.label, $0.score) })
        let lexicalScore = Dictionary(uniqueKeysWithValues: lexical.map { ($0.label, $0.score) })
        let (dMin, dMax) = (dense.map(\.score).min() ?? 0, dense.map(\.score).max() ?? 0)
        let lMax = lexical.map(\.score).max() ?? 0
        var out = Array(merged.values)
        for i in out.indices {
            let h = out[i]
            switch fusion {
            case .reciprocalRank(let c):
                let r = (h.denseRank.map { 1 / Double(c + $0) } ?? 0) + (h.lexicalRank.map { trust(h) / Double(c + $0) } ?? 0)
                out[i].score = Float(r)
            case .weighted(let alpha):
                let d = denseScore[h.label].map { dMax > dMin ? Double(($0 - dMin) / (dMax - dMin)) : 1 } ?? 0
                let l = lexicalScore[h.label].map { lMax > 0 ? Double($0 / lMax) * trust(h) : 0 } ?? 0
                out[i].score = Float(alpha * d + (1 - alpha) * l)
            }
        }
        out.sort { $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label }
        return Array(out.prefix(k))
    }

    /// Two-stage dense search: the graph over coarse vectors proposes `rerankDepth` candidates,
    /// which are re-scored exactly at full dimension. A filter matching few chunks is answered
    /// by exact search over exactly those (a graph walk would find too few of them); otherwise it
    /// is applied during the walk.
    func dense(_ query: [Float], _ o: SearchOptions, allowed: Set<String>?, visited: VisitedSet?) -> SearchOutcome {
        let q = VectorMath.normalized(query)
        let start = DispatchTime.now().uptimeNanoseconds
        if let matching = allowed {
            let chunks = matching.reduce(0) { $0 + (chunksOf[$1]?.count ?? 0) }
            if chunks <= o.exactFilterLimit || o.exact {
                let labels = matching.flatMap { chunksOf[$0] ?? [] }
                return SearchOutcome(hits: exact(q, labels, k: o.topK), path: o.exact ? .exact : .filteredExact,
                                     candidates: labels.count, coarseSeconds: 0, rerankSeconds: Self.seconds(since: start))
            }
        }
        if o.exact || slotOf.count <= o.exactBelow {
            return SearchOutcome(hits: scan(q, k: o.topK), path: .exact, candidates: slotOf.count,
                                 coarseSeconds: 0, rerankSeconds: Self.seconds(since: start))
        }
        let accept: ((UInt64) -> Bool)? = allowed.map { set in { label in documentOf[label].map(set.contains) ?? false } }
        let depth = projection.isIdentity || o.rerankDepth == 0 ? o.topK : max(o.rerankDepth, o.topK)
        let found = graph.search(projection(q), k: depth, ef: max(o.ef, depth), filter: accept, visited: visited ?? VisitedSet())
        let afterCoarse = DispatchTime.now().uptimeNanoseconds
        let coarse = Double(afterCoarse - start) / 1e9
        if projection.isIdentity || o.rerankDepth == 0 {
            let hits = found.prefix(o.topK).compactMap { f in
                documentOf[f.label].map { SearchHit(label: f.label, documentId: $0, score: 1 - f.distance) }
            }
            return SearchOutcome(hits: hits, path: .graph, candidates: found.count, coarseSeconds: coarse, rerankSeconds: 0)
        }
        let hits = exact(q, found.map(\.label), k: o.topK)
        return SearchOutcome(hits: hits, path: .twoStage, candidates: found.count, coarseSeconds: coarse,
                             rerankSeconds: Self.seconds(since: afterCoarse))
    }

    /// For one of the collection's own chunks as the query (left out of its own answer): the
    /// share of the exact top `k` that two-stage search recovers at each depth factor (depth =
    /// factor · k). nil when the chunk is gone or the state is one-stage.
    func calibrationRecall(of label: UInt64, k: Int, factors: [Int], visited: VisitedSet) -> [Double]? {
        guard !projection.isIdentity, let slot = slotOf[label] else { return nil }
        let q = Array(vectors[slot * dimensions..<(slot + 1) * dimensions])
        let truth = Set(scan(q, k: k + 1).map(\.label).filter { $0 != label }.prefix(k))
        return factors.map { f in
            let depth = f * k
            let found = graph.search(projection(q), k: depth + 1, ef: depth + 1, visited: visited).map(\.label).filter { $0 != label }
            let got = exact(q, found, k: k).map(\.label)
            return Double(got.filter(truth.contains).count) / Double(max(1, truth.count))
        }
    }

    /// Exact search over every chunk: the vectors in memory order, a bounded heap of the best
    /// `k` (ties by label), no per-chunk lookups — the full scan the planner picks below the
    /// crossover.
    func scan(_ q: [Float], k: Int) -> [SearchHit] {
        var heap = [(score: Float, label: UInt64)]()  // min-heap on (score, then larger label first)
        heap.reserveCapacity(k + 1)
        func worse(_ a: (score: Float, label: UInt64), _ b: (score: Float, label: UInt64)) -> Bool {
            a.score != b.score ? a.score < b.score : a.label > b.label
        }
        func siftUp(_ i: Int) {
            var i = i
            while i > 0, worse(heap[i], heap[(i - 1) / 2]) { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        }
        func siftDown() {
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, worse(heap[l], heap[m]) { m = l }
                if r < heap.count, worse(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        let d = dimensions
        q.withUnsafeBufferPointer { qb in
            vectors.withUnsafeBufferPointer { vb in
                guard let qp = qb.baseAddress, let base = vb.baseAddress else { return }
                for (slot, label) in slotLabels.enumerated() where label != Self.freeSlot {
                    let x = (score: VectorMath.dot(qp, base + slot * d, count: d), label: label)
                    if heap.count < k {
                        heap.append(x)
                        siftUp(heap.count - 1)
                    } else if worse(heap[0], x) {
                        heap[0] = x
                        siftDown()
                    }
                }
            }
        }
        heap.sort { $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label }
        return heap.compactMap { h in documentOf[h.label].map { SearchHit(label: h.label, documentId: $0, score: h.score) } }
    }

    /// Exact cosine scores of the given chunks, best first (ties by label, so results are stable).
    func exact(_ q: [Float], _ labels: [UInt64], k: Int) -> [SearchHit] {
        let slots = labels.compactMap { l in slotOf[l].map { (label: l, slot: $0) } }
        var scored = [(score: Float, label: UInt64)]()
        scored.reserveCapacity(slots.count)
        q.withUnsafeBufferPointer { qb in
            vectors.withUnsafeBufferPointer { vb in
                guard let qp = qb.baseAddress, let base = vb.baseAddress else { return }
                for (i, s) in slots.enumerated() {
                    // Candidates sit at random places in memory: load the next while scoring this one.
                    if i + 1 < slots.count { nestor_prefetch(base + slots[i + 1].slot * dimensions) }
                    scored.append((VectorMath.dot(qp, base + s.slot * dimensions, count: dimensions), s.label))
                }
            }
        }
        let order: ((score: Float, label: UInt64), (score: Float, label: UInt64)) -> Bool = {
            $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label
        }
        let best = scored.count > k ? Array(scored.sorted(by: order).prefix(k)) : scored.sorted(by: order)
        return best.compactMap { h in documentOf[h.label].map { SearchHit(label: h.label, documentId: $0, score: h.score) } }
    }
}

import CPrefetch
import Foundation
import HNSW
import VectorMath

extension SearchState {
    /// Two-stage search: the graph over coarse vectors proposes `rerankDepth` candidates, which
    /// are re-scored exactly at full dimension. A filter matching few chunks is answered by
    /// exact search over exactly those (a graph walk would find too few of them); otherwise it
    /// is applied during the walk.
    public func search(_ query: [Float], _ o: SearchOptions, visited: VisitedSet? = nil) -> SearchOutcome {
        let q = VectorMath.normalized(query)
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }
        var allowed: Set<String>?
        if let filter = o.filter {
            let matching = Set(metadata.lazy.filter { filter.matches($0.value) }.map(\.key))
            allowed = matching
            let chunks = matching.reduce(0) { $0 + (chunksOf[$1]?.count ?? 0) }
            if chunks <= o.exactFilterLimit || o.exact {
                let labels = matching.flatMap { chunksOf[$0] ?? [] }
                return SearchOutcome(hits: exact(q, labels, k: o.topK), path: o.exact ? .exact : .filteredExact,
                                     candidates: labels.count, coarseSeconds: 0, rerankSeconds: seconds(since: start))
            }
        }
        if o.exact {
            return SearchOutcome(hits: exact(q, Array(slotOf.keys), k: o.topK), path: .exact, candidates: slotOf.count,
                                 coarseSeconds: 0, rerankSeconds: seconds(since: start))
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
                             rerankSeconds: seconds(since: afterCoarse))
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

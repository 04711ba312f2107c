import Lexical
import Testing
@testable import NestorCore

/// Hybrid fusion with coverage weighting: a lexical hit counts as far as it holds the query's
/// terms, so a query that shares one stray word with a text cannot pull it above the dense
/// ranking, while a hit holding every query term keeps its full weight.
@Suite struct FusionTests {
    func hit(_ label: UInt64, _ score: Float, coverage: Float? = nil) -> SearchHit {
        var h = SearchHit(label: label, documentId: "d\(label)", score: score)
        h.lexicalCoverage = coverage
        return h
    }

    @Test func coverageScalesTheLexicalSide() {
        let dense = [hit(1, 0.90), hit(3, 0.85), hit(2, 0.80)]
        // Document 3 is the lexical top on one stray shared word (coverage 0.1).
        let stray = [hit(3, 12, coverage: 0.1), hit(2, 3, coverage: 0.1)]
        let weighted = SearchState.fuse(dense: dense, lexical: stray, fusion: .weighted(alpha: 0.5), weighting: .coverage, k: 3)
        #expect(weighted.map(\.label) == [1, 3, 2])
        let plain = SearchState.fuse(dense: dense, lexical: stray, fusion: .weighted(alpha: 0.5), weighting: .none, k: 3)
        #expect(plain.first?.label == 3)
        // A hit that holds every query term (coverage 1) moves up as in plain fusion.
        let exact = [hit(3, 12, coverage: 1)]
        #expect(SearchState.fuse(dense: dense, lexical: exact, fusion: .weighted(alpha: 0.5), weighting: .coverage, k: 3).first?.label == 3)
        let rrf = SearchState.fuse(dense: dense, lexical: exact, fusion: .reciprocalRank(k: 60), weighting: .coverage, k: 3)
        #expect(rrf.first?.label == 3 && rrf.first?.lexicalRank == 1 && rrf.first?.denseRank == 2)
    }

    @Test func coverageIsTheIdfShareOfQueryTermsHeld() {
        var idx = BM25Index()
        for (i, t) in ["apt-get install libc6-dev", "copy files with cp", "the package lists are stale"].enumerated() {
            idx.add(UInt64(i), idx.termList(Analyzer.frequencies(t)))
        }
        // Every query term present: coverage 1; a query with a word the collection lacks: below 1.
        let full = idx.search(Analyzer.terms("copy files"), k: 1)
        #expect(full.first?.label == 1 && abs((full.first?.coverage ?? 0) - 1) < 1e-6)
        let partial = idx.search(Analyzer.terms("Dateien copy kopieren"), k: 1)
        #expect(partial.first?.label == 1 && (partial.first?.coverage ?? 1) < 0.5)
    }
}

import Foundation
import Testing
@testable import Lexical

@Suite struct AnalyzerTests {
    @Test func wordsAreLowercasedRunsOfLettersAndDigits() {
        #expect(Analyzer.terms("Hello, World! It's 2024.") == ["hello", "world", "it", "s", "2024"])
        #expect(Analyzer.terms("Straße ÉCOLE naïve") == ["straße", "école", "naïve"])
        #expect(Analyzer.terms("  \n\t") == [])
        #expect(Analyzer.terms("") == [])
    }

    /// Identifiers are kept whole beside their parts, so both kinds of query find them.
    @Test func identifiersAreCompoundsAndParts() {
        #expect(Analyzer.terms("apt-get install libc6-dev") == ["apt", "get", "apt-get", "install", "libc6", "dev", "libc6-dev"])
        #expect(Analyzer.terms("version 1.2.3.") == ["version", "1", "2", "3", "1.2.3"])
        #expect(Analyzer.terms("--reflink=always") == ["reflink", "always"])
        #expect(Analyzer.terms("E: dpkg was interrupted") == ["e", "dpkg", "was", "interrupted"])
        #expect(Analyzer.terms("snake_case_name") == ["snake_case_name"])
    }

    /// Full-width and compatibility forms fold to plain ones (NFKC), as a user would type them.
    @Test func compatibilityFormsFold() {
        #expect(Analyzer.terms("ＡＢＣ１２３") == ["abc123"])
        #expect(Analyzer.terms("ﬁle") == ["file"])
    }

    /// Scripts without spaces become overlapping bigrams; a lone character stays a unigram.
    @Test func denseScriptsBecomeBigrams() {
        #expect(Analyzer.terms("日本語") == ["日本", "本語"])
        #expect(Analyzer.terms("ファイルをコピー") == ["ファ", "ァイ", "イル", "ルを", "をコ", "コピ", "ピー"])
        #expect(Analyzer.terms("猫") == ["猫"])
        #expect(Analyzer.terms("cpコマンド") == ["cp", "コマ", "マン", "ンド"])
        // Thai: no spaces between words either.
        #expect(Analyzer.terms("ภาษาไทย").count == 6)
        // Korean is written with spaces: words stay whole.
        #expect(Analyzer.terms("파일 복사") == ["파일", "복사"])
    }

    @Test func otherScriptsAreWords() {
        #expect(Analyzer.terms("Копировать файлы") == ["копировать", "файлы"])
        #expect(Analyzer.terms("نسخ الملفات") == ["نسخ", "الملفات"])
        #expect(Analyzer.terms("फ़ाइल कॉपी करें") == ["फ़ाइल", "कॉपी", "करें"])
    }

    @Test func diacriticsFoldOnlyWhenAsked() {
        #expect(Analyzer.terms("año café") == ["año", "café"])
        #expect(Analyzer.terms("año café Ångström", options: AnalyzerOptions(foldDiacritics: true)) == ["ano", "cafe", "angstrom"])
    }

    @Test func hugeTermsAreDropped() {
        #expect(Analyzer.terms(String(repeating: "x", count: 65) + " ok") == ["ok"])
    }
}

@Suite struct BM25Tests {
    static let docs = [
        "the quick brown fox jumps over the lazy dog",
        "the lazy cat sleeps",
        "a quick quick test of the index",
        "foxes and dogs",
        "nothing in common here",
    ]

    /// The textbook formula, computed directly.
    static func reference(_ query: [String], _ docs: [[String]], k1: Double = 1.2, b: Double = 0.75) -> [Double] {
        let n = Double(docs.count)
        let avg = Double(docs.map(\.count).reduce(0, +)) / n
        var out = [Double]()
        for d in docs {
            var score = 0.0
            for t in query {
                let df = Double(docs.filter { $0.contains(t) }.count)
                if df == 0 { continue }
                let tf = Double(d.filter { $0 == t }.count)
                let idf: Double = log(1 + (n - df + 0.5) / (df + 0.5))
                let norm: Double = k1 * (1 - b + b * Double(d.count) / avg)
                score += idf * tf * (k1 + 1) / (tf + norm)
            }
            out.append(score)
        }
        return out
    }

    static func index(_ docs: [String], parameters: BM25Parameters = BM25Parameters()) -> BM25Index {
        var idx = BM25Index(parameters: parameters)
        for (i, d) in docs.enumerated() { idx.add(UInt64(i), idx.termList(Analyzer.frequencies(d))) }
        return idx
    }

    @Test(arguments: [BM25Parameters(), BM25Parameters(k1: 1.5, b: 0.3), BM25Parameters(k1: 0.9, b: 1)])
    func scoresMatchTheFormula(parameters: BM25Parameters) {
        let idx = Self.index(Self.docs, parameters: parameters)
        let tokenized = Self.docs.map { Analyzer.terms($0) }
        for q in ["quick fox", "lazy", "the", "quick quick", "missing words", "dog foxes"] {
            let terms = Analyzer.terms(q)
            let expected = Self.reference(terms, tokenized, k1: parameters.k1, b: parameters.b)
            let got = idx.search(terms, k: 10)
            for hit in got { #expect(abs(Double(hit.score) - expected[Int(hit.label)]) < 1e-4, "\(q) doc \(hit.label)") }
            #expect(Set(got.map(\.label)) == Set(expected.indices.filter { expected[$0] > 0 }.map(UInt64.init)), "\(q)")
            #expect(got.map(\.score) == got.map(\.score).sorted(by: >))
        }
    }

    @Test func removalAndReplacementUpdateStatistics() {
        var idx = Self.index(Self.docs)
        idx.remove(0)
        let fresh = Self.index(Array(Self.docs.dropFirst()))
        for q in ["quick fox", "lazy dog", "the"] {
            let a = idx.search(Analyzer.terms(q), k: 10), b = fresh.search(Analyzer.terms(q), k: 10)
            #expect(a.map(\.label) == b.map { $0.label + 1 } && zip(a, b).allSatisfy { abs($0.score - $1.score) < 1e-5 }, "\(q)")
        }
        idx.add(0, idx.termList(Analyzer.frequencies("a brand new text")))
        #expect(idx.search(["brand"], k: 1).first?.label == 0)
        #expect(idx.search(["fox"], k: 5).isEmpty)
    }

    /// Many replacements: compaction frees dead slots, results stay those of a fresh index.
    @Test func churnCompactsAndStaysExact() {
        var idx = BM25Index()
        var rng = SystemRandomNumberGenerator()
        let words = (0..<50).map { "w\($0)" }
        var current = [UInt64: String]()
        for round in 0..<40 {
            for i in 0..<100 {
                let text = (0..<Int.random(in: 1...12, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
                let label = UInt64(round * 100 + i)
                if let old = current.keys.first(where: { $0 % 100 == UInt64(i) }) { idx.remove(old); current[old] = nil }
                idx.add(label, idx.termList(Analyzer.frequencies(text)))
                current[label] = text
            }
        }
        var fresh = BM25Index()
        for (l, t) in current { fresh.add(l, fresh.termList(Analyzer.frequencies(t))) }
        #expect(idx.count == 100)
        for q in ["w1 w2", "w7", "w3 w3 w9"] {
            let a = idx.search(Analyzer.terms(q), k: 20), b = fresh.search(Analyzer.terms(q), k: 20)
            #expect(a.map(\.label) == b.map(\.label) && zip(a, b).allSatisfy { abs($0.score - $1.score) < 1e-4 }, "\(q)")
        }
    }

    @Test func filtersAndTiesAreStable() {
        let idx = Self.index(["alpha beta", "alpha beta", "alpha beta", "gamma"])
        #expect(idx.search(["alpha"], k: 10).map(\.label) == [0, 1, 2])
        #expect(idx.search(["alpha"], k: 10, accept: { $0 != 1 }).map(\.label) == [0, 2])
        #expect(idx.search([], k: 10).isEmpty && idx.search(["alpha"], k: 0).isEmpty)
    }

    @Test func termListsRoundTripThroughTheCodec() {
        var idx = BM25Index()
        let list = idx.termList(["a": 3, "b": 1, "c": 70_000])
        let bytes = TermCodec.encode(list)
        #expect(TermCodec.decode(bytes, termCount: idx.terms.count) == list)
        #expect(TermCodec.decode(bytes.dropLast(), termCount: 3) == nil)
        #expect(TermCodec.decode(bytes, termCount: 2) == nil)
        #expect(TermCodec.decode([UInt8](), termCount: 0) == [])
        #expect(list.first { idx.terms[Int($0.term)] == "c" }?.tf == UInt16.max)
        // A collection that is not contiguous decodes alike.
        #expect(TermCodec.decode(bytes.lazy.map { $0 }, termCount: idx.terms.count) == list)
        #expect(TermCodec.decode(ArraySlice(bytes), termCount: idx.terms.count) == list)
    }

    /// The k-heap returns what a full sort would, ties by label, for every k.
    @Test func topKEqualsAFullSort() {
        var rng = SystemRandomNumberGenerator()
        let words = (0..<8).map { "w\($0)" }
        let texts = (0..<300).map { _ in (0..<Int.random(in: 1...6, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ") }
        let idx = Self.index(texts)
        let all = idx.search(["w1", "w2"], k: 1_000)
        let sorted = all.sorted { $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label }
        #expect(all.map(\.label) == sorted.map(\.label))
        for k in [1, 2, 7, 50, 299] { #expect(idx.search(["w1", "w2"], k: k).map(\.label) == Array(sorted.prefix(k)).map(\.label)) }
    }

    /// A bulk load builds the same index as adding one by one.
    @Test func bulkLoadEqualsSingleAdds() {
        var one = BM25Index(), bulk = BM25Index()
        let lists = Self.docs.map { one.termList(Analyzer.frequencies($0)) }
        for (i, l) in lists.enumerated() { one.add(UInt64(i), l) }
        bulk = BM25Index(terms: one.terms)
        bulk.addAll(lists.indices.map(UInt64.init), lists)
        for q in ["quick fox", "the", "lazy dog"] {
            #expect(one.search(Analyzer.terms(q), k: 10).map(\.label) == bulk.search(Analyzer.terms(q), k: 10).map(\.label))
        }
    }
}

import Foundation

/// How text becomes index terms. Stored with each collection, so its queries are analysed the
/// way its documents were.
public struct AnalyzerOptions: Sendable, Equatable {
    /// Strip diacritics (é → e, ü → u) after case folding; off by default, since in many languages
    /// they carry meaning (Spanish año / ano, German schon / schön).
    public var foldDiacritics: Bool
    public init(foldDiacritics: Bool = false) { self.foldDiacritics = foldDiacritics }
}

/// Turns text into lexical terms for every language the served model handles, with no
/// dictionaries: compatibility-normalised (NFKC: full-width forms become plain ones) and
/// lowercased; words are maximal runs of letters, digits, marks and `_`; scripts written
/// without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) become overlapping
/// character bigrams (a lone character stays a unigram), as Lucene's CJK analysis does.
/// Identifiers survive whole: `libc6-dev`, `1.2.3`, `e5-small` and `user.name` are indexed as
/// the compound and as their parts, so a query for either finds them.
public enum Analyzer {
    /// Longest term kept (longer runs are noise: hashes, base64).
    public static let maxTermLength = 64

    public static func terms(_ text: String, options: AnalyzerOptions = AnalyzerOptions()) -> [String] {
        var s = text.precomposedStringWithCompatibilityMapping.lowercased()
        if options.foldDiacritics { s = foldingDiacritics(s) }
        var out = [String]()
        var word = String.UnicodeScalarView()
        var compound = String.UnicodeScalarView()
        var compoundParts = 0
        var pendingJoiner: Unicode.Scalar?
        var dense = [Unicode.Scalar]()  // a run of a script written without spaces

        func emit(_ v: String.UnicodeScalarView) {
            if !v.isEmpty, v.count <= maxTermLength { out.append(String(v)) }
        }
        func endWord() {
            guard !word.isEmpty else { return }
            emit(word)
            if compoundParts > 0 { compound.append(contentsOf: word) } else { compound = word }
            compoundParts += 1
            word = String.UnicodeScalarView()
        }
        func endCompound() {
            endWord()
            if compoundParts > 1 { emit(compound) }
            compound = String.UnicodeScalarView()
            compoundParts = 0
            pendingJoiner = nil
        }
        func endDense() {
            guard !dense.isEmpty else { return }
            if dense.count == 1 { out.append(String(Character(dense[0]))) }
            for i in 0..<max(0, dense.count - 1) {
                var v = String.UnicodeScalarView()
                v.append(dense[i])
                v.append(dense[i + 1])
                out.append(String(v))
            }
            dense.removeAll(keepingCapacity: true)
        }

        for u in s.unicodeScalars {
            if isDenseScript(u) {
                endCompound()
                dense.append(u)
                continue
            }
            endDense()
            if isWordScalar(u) {
                if let j = pendingJoiner {
                    // `a-b`: the joiner belongs to the compound once a word follows it.
                    compound.append(j)
                    pendingJoiner = nil
                }
                word.append(u)
            } else if isJoiner(u), !word.isEmpty, pendingJoiner == nil {
                endWord()
                pendingJoiner = u
            } else {
                endCompound()
            }
        }
        endCompound()
        endDense()
        return out
    }

    /// Each distinct term with how often it occurs.
    public static func frequencies(_ text: String, options: AnalyzerOptions = AnalyzerOptions()) -> [String: Int] {
        var f = [String: Int]()
        for t in terms(text, options: options) { f[t, default: 0] += 1 }
        return f
    }

    static func isWordScalar(_ u: Unicode.Scalar) -> Bool {
        let p = u.properties
        if p.isAlphabetic || u == "_" { return true }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// Characters that join words into one identifier when they stand between two of them.
    static func isJoiner(_ u: Unicode.Scalar) -> Bool { u == "." || u == "-" || u == "/" || u == ":" || u == "+" || u == "@" }

    /// Scripts written without spaces between words.
    static func isDenseScript(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x3040...0x30FF,  // Hiragana, Katakana
             0x31F0...0x31FF,  // Katakana phonetic extensions
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3134F,  // Han
             0x0E00...0x0E7F,  // Thai
             0x0E80...0x0EFF,  // Lao
             0x1780...0x17FF,  // Khmer
             0x1000...0x109F:  // Myanmar
            return u.properties.isAlphabetic || u.properties.generalCategory == .otherLetter
                || u.properties.generalCategory == .nonspacingMark || u.properties.generalCategory == .spacingMark
        default:
            return false
        }
    }

    static func foldingDiacritics(_ s: String) -> String {
        var v = String.UnicodeScalarView()
        for u in s.decomposedStringWithCanonicalMapping.unicodeScalars where u.properties.generalCategory != .nonspacingMark {
            v.append(u)
        }
        return String(v).precomposedStringWithCanonicalMapping
    }
}

import Foundation

/// A regular-expression delimiter (Hugging Face uses Oniguruma; ICU's syntax agrees on the
/// constructs tokenizer files use: `\p{L}`, `\p{N}`, `\s`, `(?i:…)`, look-ahead).
///
/// Known GPT-2-family patterns are matched by hand-written scanners (`FastSplitPatterns`) because
/// the regex engine dominates tokenization time otherwise; anything else goes to
/// `NSRegularExpression`.
public struct RegexPattern: SplitPattern, @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable after creation and documented as thread-safe.
    private let regex: NSRegularExpression?
    private let fast: FastSplitPattern?
    public let source: String

    public init(_ pattern: String, path: String = "pattern") throws {
        source = pattern
        if let fast = FastSplitPattern(pattern: pattern) {
            self.fast = fast
            self.regex = nil
            return
        }
        self.fast = nil
        do {
            regex = try NSRegularExpression(pattern: pattern, options: [])
        } catch {
            throw TokenizerError(.invalidValue, path: path, "invalid regular expression \(pattern)")
        }
    }

    public func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
        if scalars.isEmpty { return [PatternMatch(0..<0, isMatch: false)] }
        var spans: [Range<Int>]
        if let fast {
            spans = fast.matches(in: scalars)
        } else {
            spans = regexMatches(scalars)
        }
        var out = [PatternMatch]()
        out.reserveCapacity(spans.count * 2 + 1)
        var last = 0
        for r in spans where !r.isEmpty {
            if last < r.lowerBound { out.append(PatternMatch(last..<r.lowerBound, isMatch: false)) }
            out.append(PatternMatch(r, isMatch: true))
            last = r.upperBound
        }
        if last < scalars.count { out.append(PatternMatch(last..<scalars.count, isMatch: false)) }
        return out
    }

    /// Runs ICU over UTF-16 and converts match ranges back to scalar indices.
    private func regexMatches(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        guard let regex else { return [] }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let string = String(view)
        // utf16 offset → scalar index
        var utf16ToScalar = [Int](repeating: 0, count: string.utf16.count + 1)
        var u = 0
        for (i, s) in scalars.enumerated() {
            utf16ToScalar[u] = i
            if s.value > 0xFFFF { utf16ToScalar[u + 1] = i; u += 2 } else { u += 1 }
        }
        utf16ToScalar[u] = scalars.count
        let ns = string as NSString
        var spans = [Range<Int>]()
        regex.enumerateMatches(in: string, options: [], range: NSRange(location: 0, length: ns.length)) { m, _, _ in
            guard let r = m?.range, r.length > 0 else { return }
            spans.append(utf16ToScalar[r.location]..<utf16ToScalar[r.location + r.length])
        }
        return spans
    }
}

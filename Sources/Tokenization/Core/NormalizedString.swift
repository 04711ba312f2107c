/// A piece of text being normalised, with every normalised scalar aligned to the range of
/// original scalars it came from.
///
/// Hugging Face `tokenizers` aligns bytes; aligning Unicode scalars is equivalent for the
/// character offsets its Python API reports (every byte of a scalar shares one alignment there),
/// and keeps the hot loops on fixed-width values. Alignments are absolute: they index the whole
/// original input, so slices never need a separate shift.
public struct NormalizedString: Sendable, Equatable {
    /// The normalised text.
    public var scalars: [Unicode.Scalar]
    /// For each normalised scalar, the half-open range of original scalars it stands for.
    public var alignments: [Alignment]
    /// Where this piece starts in the original input; inserted scalars at the very start of an
    /// otherwise empty piece align to the empty range here (as Hugging Face does with `(0, 0)`).
    public var originalStart: Int
    /// Where this piece ends in the original input.
    public var originalEnd: Int

    public struct Alignment: Sendable, Equatable {
        public var start: Int32
        public var end: Int32
        @inlinable public init(_ start: Int, _ end: Int) {
            self.start = Int32(truncatingIfNeeded: start)
            self.end = Int32(truncatingIfNeeded: end)
        }
    }

    /// Wraps original text, scalar `i` aligned to `offset + i ..< offset + i + 1`.
    public init(_ scalars: [Unicode.Scalar], offset: Int = 0) {
        self.scalars = scalars
        var aligns = [Alignment]()
        aligns.reserveCapacity(scalars.count)
        for i in 0..<scalars.count { aligns.append(Alignment(offset + i, offset + i + 1)) }
        self.alignments = aligns
        self.originalStart = offset
        self.originalEnd = offset + scalars.count
    }

    public init(_ text: String, offset: Int = 0) {
        self.init(Array(text.unicodeScalars), offset: offset)
    }

    public init(scalars: [Unicode.Scalar], alignments: [Alignment], originalStart: Int, originalEnd: Int) {
        precondition(scalars.count == alignments.count)
        self.scalars = scalars
        self.alignments = alignments
        self.originalStart = originalStart
        self.originalEnd = originalEnd
    }

    @inlinable public var count: Int { scalars.count }
    @inlinable public var isEmpty: Bool { scalars.isEmpty }
    public var string: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    /// The original range covered by normalised scalars `range` (Hugging Face `convert_offsets`
    /// for a normalised range): first scalar's start to last scalar's end.
    public func originalRange(of range: Range<Int>) -> Range<Int> {
        if range.isEmpty {
            if scalars.isEmpty { return originalStart..<originalEnd }
            let at = range.lowerBound < alignments.count
                ? Int(alignments[range.lowerBound].start) : originalEnd
            return at..<at
        }
        let s = Int(alignments[range.lowerBound].start)
        let e = Int(alignments[range.upperBound - 1].end)
        return s..<max(s, e)
    }

    /// Replaces the scalars in `range` by `dest`, exactly as Hugging Face's `transform_range`:
    /// each entry is a new scalar and a change: `0` replaces the next old scalar, `+n` inserts a
    /// scalar (aligned like the previous one), `-n` replaces the next old scalar and removes the
    /// `n` old scalars after it. `initialOffset` old scalars are removed before the first entry.
    public mutating func transform(
        range: Range<Int>, with dest: some Sequence<(Unicode.Scalar, Int)>, initialOffset: Int = 0
    ) {
        var offset = range.lowerBound + initialOffset
        var newScalars = [Unicode.Scalar]()
        var newAligns = [Alignment]()
        newScalars.reserveCapacity(range.count)
        newAligns.reserveCapacity(range.count)
        for (c, change) in dest {
            let align: Alignment
            if change > 0 {
                align = offset < 1 ? Alignment(originalStart, originalStart) : alignments[offset - 1]
            } else {
                align = offset < alignments.count ? alignments[offset] : Alignment(originalEnd, originalEnd)
                offset += 1
                if change < 0 { offset -= change }
            }
            newScalars.append(c)
            newAligns.append(align)
        }
        scalars.replaceSubrange(range, with: newScalars)
        alignments.replaceSubrange(range, with: newAligns)
    }

    /// Applies `transform` to the whole string.
    public mutating func transform(with dest: some Sequence<(Unicode.Scalar, Int)>, initialOffset: Int = 0) {
        transform(range: 0..<scalars.count, with: dest, initialOffset: initialOffset)
    }

    /// Maps every scalar to one scalar; alignments are unchanged.
    public mutating func map(_ f: (Unicode.Scalar) -> Unicode.Scalar) {
        for i in scalars.indices { scalars[i] = f(scalars[i]) }
    }

    /// Maps every scalar to zero or more scalars (Hugging Face semantics: the first output
    /// replaces the scalar, further outputs are inserted, no output removes it).
    public mutating func flatMap(_ f: (Unicode.Scalar) -> [Unicode.Scalar]) {
        var newScalars = [Unicode.Scalar]()
        var newAligns = [Alignment]()
        newScalars.reserveCapacity(scalars.count)
        newAligns.reserveCapacity(scalars.count)
        for i in scalars.indices {
            let out = f(scalars[i])
            for c in out {
                newScalars.append(c)
                newAligns.append(alignments[i])
            }
        }
        scalars = newScalars
        alignments = newAligns
    }

    /// Keeps the scalars for which `keep` is true.
    public mutating func filter(_ keep: (Unicode.Scalar) -> Bool) {
        var w = 0
        for i in scalars.indices where keep(scalars[i]) {
            scalars[w] = scalars[i]
            alignments[w] = alignments[i]
            w += 1
        }
        scalars.removeSubrange(w...)
        alignments.removeSubrange(w...)
    }

    /// Inserts `prefix` before the first scalar (no-op on an empty string, as in Hugging Face).
    public mutating func prepend(_ prefix: [Unicode.Scalar]) {
        guard !scalars.isEmpty, !prefix.isEmpty else { return }
        let first = alignments[0]
        scalars.insert(contentsOf: prefix, at: 0)
        alignments.insert(contentsOf: repeatElement(first, count: prefix.count), at: 0)
    }

    /// Appends `suffix` after the last scalar (no-op on an empty string).
    public mutating func append(_ suffix: [Unicode.Scalar]) {
        guard let last = alignments.last, !suffix.isEmpty else { return }
        scalars.append(contentsOf: suffix)
        alignments.append(contentsOf: repeatElement(last, count: suffix.count))
    }

    /// Removes leading and/or trailing white space (Unicode `White_Space`).
    public mutating func strip(left: Bool = true, right: Bool = true) {
        var lo = 0, hi = scalars.count
        if left { while lo < hi, CharacterClass.isWhitespace(scalars[lo]) { lo += 1 } }
        if right { while hi > lo, CharacterClass.isWhitespace(scalars[hi - 1]) { hi -= 1 } }
        if lo == 0 && hi == scalars.count { return }
        scalars = Array(scalars[lo..<hi])
        alignments = Array(alignments[lo..<hi])
    }

    /// The sub-string of normalised scalars `range`, keeping absolute alignments.
    public func slice(_ range: Range<Int>) -> NormalizedString {
        let orig = originalRange(of: range)
        return NormalizedString(
            scalars: Array(scalars[range]), alignments: Array(alignments[range]),
            originalStart: orig.lowerBound, originalEnd: orig.upperBound)
    }

    /// Splits on the matches of `pattern` (Hugging Face `NormalizedString::split`).
    public func split(_ pattern: some SplitPattern, behavior: SplitDelimiterBehavior) throws -> [NormalizedString] {
        let matches = try pattern.findMatches(in: scalars)
        var splits: [(range: Range<Int>, remove: Bool)] = []
        splits.reserveCapacity(matches.count)
        switch behavior {
        case .isolated:
            for m in matches { splits.append((m.range, false)) }
        case .removed:
            for m in matches { splits.append((m.range, m.isMatch)) }
        case .contiguous:
            var previous = false
            for m in matches {
                if m.isMatch == previous, let last = splits.last {
                    splits[splits.count - 1].range = last.range.lowerBound..<m.range.upperBound
                } else {
                    splits.append((m.range, false))
                }
                previous = m.isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for m in matches {
                if m.isMatch && !previous, let last = splits.last {
                    splits[splits.count - 1].range = last.range.lowerBound..<m.range.upperBound
                } else {
                    splits.append((m.range, false))
                }
                previous = m.isMatch
            }
        case .mergedWithNext:
            var previous = false
            for m in matches.reversed() {
                if m.isMatch && !previous, let last = splits.last {
                    splits[splits.count - 1].range = m.range.lowerBound..<last.range.upperBound
                } else {
                    splits.append((m.range, false))
                }
                previous = m.isMatch
            }
            splits.reverse()
        }
        return splits.compactMap { $0.remove ? nil : slice($0.range) }
    }
}

/// What happens to the delimiter when splitting (Hugging Face `SplitDelimiterBehavior`).
public enum SplitDelimiterBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

/// One span of a split: either a match of the pattern or the text between two matches.
public struct PatternMatch: Sendable, Equatable {
    public var range: Range<Int>
    public var isMatch: Bool
    public init(_ range: Range<Int>, isMatch: Bool) {
        self.range = range
        self.isMatch = isMatch
    }
}

/// Something that finds delimiters. `findMatches` must cover `0..<scalars.count` with
/// consecutive spans in order, as Hugging Face's `Pattern::find_matches` does (an empty input
/// yields `[(0..<0, false)]`).
public protocol SplitPattern {
    func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch]
}

/// Matches every scalar for which the predicate is true, each one on its own.
public struct ScalarPredicatePattern: SplitPattern {
    public let predicate: (Unicode.Scalar) -> Bool
    public init(_ predicate: @escaping (Unicode.Scalar) -> Bool) { self.predicate = predicate }

    public func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
        if scalars.isEmpty { return [PatternMatch(0..<0, isMatch: false)] }
        var out = [PatternMatch]()
        var last = 0
        for i in scalars.indices where predicate(scalars[i]) {
            if last < i { out.append(PatternMatch(last..<i, isMatch: false)) }
            out.append(PatternMatch(i..<(i + 1), isMatch: true))
            last = i + 1
        }
        if last < scalars.count { out.append(PatternMatch(last..<scalars.count, isMatch: false)) }
        return out
    }
}

/// Matches a literal scalar sequence (non-overlapping, left to right).
public struct LiteralPattern: SplitPattern, Sendable {
    public let needle: [Unicode.Scalar]
    public init(_ needle: [Unicode.Scalar]) { self.needle = needle }
    public init(_ needle: String) { self.needle = Array(needle.unicodeScalars) }

    public func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
        if scalars.isEmpty { return [PatternMatch(0..<0, isMatch: false)] }
        if needle.isEmpty { return [PatternMatch(0..<scalars.count, isMatch: false)] }
        var out = [PatternMatch]()
        var last = 0, i = 0
        let n = needle.count
        while i + n <= scalars.count {
            if scalars[i] == needle[0] && scalars[i..<(i + n)].elementsEqual(needle) {
                if last < i { out.append(PatternMatch(last..<i, isMatch: false)) }
                out.append(PatternMatch(i..<(i + n), isMatch: true))
                i += n
                last = i
            } else {
                i += 1
            }
        }
        if last < scalars.count { out.append(PatternMatch(last..<scalars.count, isMatch: false)) }
        return out
    }
}

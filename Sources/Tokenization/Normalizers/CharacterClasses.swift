/// Character classes with the exact definitions, and the Unicode versions, Hugging Face
/// `tokenizers` uses: each property comes from a table that scripts/golden/gen_unicode_tables.py
/// probed from the `tokenizers` wheel (Rust's `char` methods, the `unicode_categories` crate,
/// Oniguruma, the regex crate), never from Swift's own Unicode data, which is of another version.
enum CharacterClass {
    /// Rust `char::is_whitespace`: the Unicode `White_Space` property.
    @inline(__always) static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value == 0x20 || (c.value >= 0x09 && c.value <= 0x0D) }
        return CharacterProperties.shared.has(c.value, .whitespace)
    }

    /// BERT's whitespace: tab, newline and carriage return, plus `White_Space`.
    @inline(__always) static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool { isWhitespace(c) }

    /// BERT's control characters: `unicode_categories` C* except tab, newline, carriage return.
    static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        if c.value >= 0x20 && c.value < 0x7F { return false }
        return CharacterProperties.shared.has(c.value, .bertControl)
    }

    /// The CJK ideograph blocks BERT surrounds with spaces.
    static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// General category Mn (`unicode_categories`).
    @inline(__always) static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x300 && CharacterProperties.shared.has(c.value, .nonspacingMark)
    }

    /// BERT's punctuation: ASCII symbols and punctuation, plus `unicode_categories` P*.
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        return CharacterProperties.shared.has(v, .punctuation)
    }

    /// Rust `char::is_numeric` (Nd, Nl, No).
    @inline(__always) static func isNumeric(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        return CharacterProperties.shared.has(c.value, .numeric)
    }

    /// Rust `char::is_ascii_digit`.
    @inline(__always) static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    /// Oniguruma's `\p{L}`, `\p{N}` and `\s` in split patterns.
    @inline(__always) static func isRegexLetter(_ c: Unicode.Scalar) -> Bool { CharacterProperties.shared.has(c.value, .regexLetter) }
    @inline(__always) static func isRegexNumber(_ c: Unicode.Scalar) -> Bool { CharacterProperties.shared.has(c.value, .regexNumber) }
    @inline(__always) static func isRegexSpace(_ c: Unicode.Scalar) -> Bool { CharacterProperties.shared.has(c.value, .regexSpace) }

    /// `\w` of the `Whitespace` pre-tokenizer's `\w+|[^\w\s]+`.
    @inline(__always) static func isWordRunCharacter(_ c: Unicode.Scalar) -> Bool { CharacterProperties.shared.has(c.value, .wordRunWord) }

    /// `\w` of the regex crate, which decides whether a single-word added token stands alone.
    @inline(__always) static func isAddedTokenWordCharacter(_ c: Unicode.Scalar) -> Bool {
        CharacterProperties.shared.has(c.value, .addedWordChar)
    }

    /// Rust `char::to_lowercase`, or nil where it leaves the character as it is.
    @inline(__always) static func lowercaseMapping(_ c: Unicode.Scalar) -> ArraySlice<UInt32>? {
        if c.value < 0x80 { return nil }
        return CharacterProperties.shared.lowercase(c.value)
    }
}

/// The generated tables, indexed once: a flag word per code point of the Basic Multilingual
/// Plane, sorted ranges searched above it.
struct CharacterProperties: Sendable {
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt16
        static let whitespace = Flags(rawValue: 1 << 0)
        static let numeric = Flags(rawValue: 1 << 1)
        static let punctuation = Flags(rawValue: 1 << 2)
        static let bertControl = Flags(rawValue: 1 << 3)
        static let nonspacingMark = Flags(rawValue: 1 << 4)
        static let regexLetter = Flags(rawValue: 1 << 5)
        static let regexNumber = Flags(rawValue: 1 << 6)
        static let regexSpace = Flags(rawValue: 1 << 7)
        static let wordRunWord = Flags(rawValue: 1 << 8)
        static let addedWordChar = Flags(rawValue: 1 << 9)
    }

    static let shared = CharacterProperties()

    private let bmp: [UInt16]
    private let astral: [(Flags, [UInt32])]
    private let lowercaseIndex: [UInt32: (Int, Int)]
    private let lowercaseTable: [UInt32]
    private let combiningBMP: [UInt8]
    private let combiningAstral: [UInt32: UInt8]

    private init() {
        let tables: [(Flags, [UInt32])] = [
            (.whitespace, UnicodeTables.whitespace), (.numeric, UnicodeTables.numeric),
            (.punctuation, UnicodeTables.punctuation), (.bertControl, UnicodeTables.other),
            (.nonspacingMark, UnicodeTables.nonspacingMark), (.regexLetter, UnicodeTables.regexLetter),
            (.regexNumber, UnicodeTables.regexNumber), (.regexSpace, UnicodeTables.regexSpace),
            (.wordRunWord, UnicodeTables.wordRunWord), (.addedWordChar, UnicodeTables.addedWordChar),
        ]
        var bmp = [UInt16](repeating: 0, count: 0x10000)
        var astral = [(Flags, [UInt32])]()
        for (flag, ranges) in tables {
            var above = [UInt32]()
            var i = 0
            while i + 1 < ranges.count {
                let lo = ranges[i], hi = ranges[i + 1]
                if lo < 0x10000 {
                    for cp in Int(lo)...Int(min(hi, 0xFFFF)) { bmp[cp] |= flag.rawValue }
                }
                if hi >= 0x10000 {
                    above.append(max(lo, 0x10000))
                    above.append(hi)
                }
                i += 2
            }
            astral.append((flag, above))
        }
        self.bmp = bmp
        self.astral = astral
        var index = [UInt32: (Int, Int)]()
        let t = UnicodeTables.lowercaseMappings
        var i = 0
        while i + 1 < t.count {
            let n = Int(t[i + 1])
            index[t[i]] = (i + 2, n)
            i += 2 + n
        }
        lowercaseIndex = index
        lowercaseTable = t
        var ccBMP = [UInt8](repeating: 0, count: 0x10000)
        var ccAstral = [UInt32: UInt8]()
        let cc = UnicodeTables.combiningClasses
        i = 0
        while i + 1 < cc.count {
            if cc[i] < 0x10000 { ccBMP[Int(cc[i])] = UInt8(cc[i + 1]) } else { ccAstral[cc[i]] = UInt8(cc[i + 1]) }
            i += 2
        }
        combiningBMP = ccBMP
        combiningAstral = ccAstral
    }

    @inline(__always) func has(_ cp: UInt32, _ flag: Flags) -> Bool {
        if cp < 0x10000 { return bmp[Int(cp)] & flag.rawValue != 0 }
        for (f, ranges) in astral where f == flag { return Self.contains(ranges, cp) }
        return false
    }

    /// Binary search over sorted inclusive `first, last` pairs.
    private static func contains(_ ranges: [UInt32], _ cp: UInt32) -> Bool {
        var lo = 0, hi = ranges.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[2 * mid + 1] < cp { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count / 2 && ranges[2 * lo] <= cp
    }

    func lowercase(_ cp: UInt32) -> ArraySlice<UInt32>? {
        guard let (start, n) = lowercaseIndex[cp] else { return nil }
        return lowercaseTable[start..<(start + n)]
    }

    /// Canonical combining class (Unicode 9.0, as the normalisation crate has it).
    @inline(__always) func combiningClass(_ cp: UInt32) -> UInt8 {
        if cp < 0x10000 { return combiningBMP[Int(cp)] }
        return combiningAstral[cp] ?? 0
    }
}

extension NormalizedString {
    /// Rust `char::to_lowercase` per scalar (no context, so no final-sigma rule), with extra
    /// scalars of a multi-scalar mapping inserted after the first.
    public mutating func lowercase() {
        var needs = false
        for c in scalars where c.value >= 0x80 ? CharacterClass.lowercaseMapping(c) != nil : (c.value >= 0x41 && c.value <= 0x5A) {
            needs = true
            break
        }
        guard needs else { return }
        var out = [Unicode.Scalar]()
        var aligns = [Alignment]()
        out.reserveCapacity(scalars.count)
        aligns.reserveCapacity(scalars.count)
        for (i, c) in scalars.enumerated() {
            if c.value < 0x80 {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(UInt8(c.value + 32)) : c)
                aligns.append(alignments[i])
            } else if let mapping = CharacterClass.lowercaseMapping(c) {
                for l in mapping {
                    out.append(Unicode.Scalar(l) ?? c)
                    aligns.append(alignments[i])
                }
            } else {
                out.append(c)
                aligns.append(alignments[i])
            }
        }
        scalars = out
        alignments = aligns
    }
}

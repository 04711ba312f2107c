/// Character classes with the exact definitions Hugging Face uses (Rust's `char` methods and the
/// `unicode_categories` crate), shared by normalizers and pre-tokenizers.
enum CharacterClass {
    /// Rust `char::is_whitespace`: the Unicode `White_Space` property.
    @inline(__always) static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value == 0x20 || (c.value >= 0x09 && c.value <= 0x0D) }
        return c.properties.isWhitespace
    }

    /// BERT's whitespace: tab, newline and carriage return, plus `White_Space`.
    @inline(__always) static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool { isWhitespace(c) }

    /// BERT's control characters: general category C* except tab, newline, carriage return.
    static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A, 0x0D: return false
        default: return isOther(c)
        }
    }

    /// General category Other: Cc, Cf, Cs, Co, Cn.
    @inline(__always) static func isOther(_ c: Unicode.Scalar) -> Bool {
        if c.value >= 0x20 && c.value < 0x7F { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
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

    /// General category Mn.
    @inline(__always) static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x300 && c.properties.generalCategory == .nonspacingMark
    }

    /// BERT's punctuation: ASCII symbols and punctuation, plus Unicode category P*.
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126) {
            return true
        }
        return isPunctuation(c)
    }

    /// Unicode general category P* (Pc, Pd, Ps, Pe, Pi, Pf, Po).
    @inline(__always) static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Rust `char::is_alphanumeric`: Alphabetic or Numeric (Nd, Nl, No).
    @inline(__always) static func isAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 {
            let v = c.value
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
        }
        if c.properties.isAlphabetic { return true }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Rust `char::is_numeric` (Nd, Nl, No).
    @inline(__always) static func isNumeric(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Rust `char::is_ascii_digit`.
    @inline(__always) static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
}

extension NormalizedString {
    /// Rust `char::to_lowercase` per scalar (no context, so no final-sigma rule), with extra
    /// scalars of a multi-scalar mapping inserted after the first.
    public mutating func lowercase() {
        var needs = false
        for c in scalars where c.value >= 0x80 ? c.properties.changesWhenLowercased : (c.value >= 0x41 && c.value <= 0x5A) {
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
            } else if c.properties.changesWhenLowercased {
                for l in c.properties.lowercaseMapping.unicodeScalars {
                    out.append(l)
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

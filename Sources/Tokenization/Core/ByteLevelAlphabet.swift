/// GPT-2's reversible map from bytes to printable Unicode scalars, used by byte-level BPE:
/// printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards.
public enum ByteLevelAlphabet {
    public static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The inverse map; nil for scalars outside the alphabet.
    public static let scalarToByte: [UInt32: UInt8] = {
        var d = [UInt32: UInt8]()
        for (b, s) in byteToScalar.enumerated() { d[s.value] = UInt8(b) }
        return d
    }()
}

extension NormalizedString {
    /// Replaces every scalar by the alphabet scalars of its UTF-8 bytes, all aligned with it.
    public mutating func mapToByteLevelAlphabet() {
        let table = ByteLevelAlphabet.byteToScalar
        var out = [Unicode.Scalar]()
        var aligns = [Alignment]()
        out.reserveCapacity(scalars.count + scalars.count / 2)
        aligns.reserveCapacity(out.capacity)
        for (i, s) in scalars.enumerated() {
            if s.value < 0x80 {
                out.append(table[Int(s.value)])
                aligns.append(alignments[i])
                continue
            }
            for b in UTF8.encode(s)! {  // safe: a Unicode.Scalar always encodes
                out.append(table[Int(b)])
                aligns.append(alignments[i])
            }
        }
        scalars = out
        alignments = aligns
    }
}

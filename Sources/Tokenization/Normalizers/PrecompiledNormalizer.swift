import Foundation

/// SentencePiece's compiled normalisation rules (`precompiled_charsmap`), as XLM-RoBERTa models
/// ship them: a double-array trie over UTF-8 keys whose values index a blob of NUL-terminated
/// replacement strings. The lookup reproduces `spm_precompiled` exactly, including its choice of
/// the *shortest* matching prefix and Hugging Face's per-grapheme driving loop.
public struct PrecompiledNormalizer: Normalizer {
    private let units: [UInt32]
    private let replacements: [UInt8]

    public init(json: JSONNode) throws {
        let field = json["precompiled_charsmap"]
        guard let b64 = try field.stringIfPresent() else {
            throw field.invalid("missing precompiled_charsmap")
        }
        guard let data = Data(base64Encoded: b64) else { throw field.invalid("precompiled_charsmap is not base64") }
        try self.init(blob: [UInt8](data), path: field.path)
    }

    init(blob: [UInt8], path: String) throws {
        guard blob.count >= 4 else { throw TokenizerError(.invalidValue, path: path, "precompiled_charsmap is truncated") }
        let trieBytes = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieBytes % 4 == 0, 4 + trieBytes <= blob.count, trieBytes > 0 else {
            throw TokenizerError(.invalidValue, path: path, "precompiled_charsmap has an invalid trie size")
        }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for i in units.indices {
            let o = 4 + i * 4
            units[i] = UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        self.units = units
        self.replacements = Array(blob[(4 + trieBytes)...])
    }

    /// The replacement for `key` (UTF-8), if the trie has a prefix of it.
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> ArraySlice<UInt8>? {
        var pos = 0
        guard !units.isEmpty else { return nil }
        var unit = units[0]
        pos ^= Self.offset(unit)
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < units.count else { return nil }
            unit = units[pos]
            if Self.label(unit) != UInt32(c) { return nil }
            pos ^= Self.offset(unit)
            if Self.hasLeaf(unit) {
                guard pos < units.count else { return nil }
                let start = Int(units[pos] & 0x7FFF_FFFF)
                guard start <= replacements.count else { return nil }
                var end = start
                while end < replacements.count, replacements[end] != 0 { end += 1 }
                return replacements[start..<end]
            }
        }
        return nil
    }

    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & (0x8000_0000 | 0xFF) }
    @inline(__always) private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    public func normalize(_ text: inout NormalizedString) throws {
        guard !text.isEmpty else { return }
        var dest = [(Unicode.Scalar, Int)]()
        dest.reserveCapacity(text.count)
        var modified = false
        var utf8 = [UInt8]()
        var graphemeStart = 0
        let scalars = text.scalars
        // Walk extended grapheme clusters, as Hugging Face does with unicode-segmentation.
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let string = String(view)
        for character in string {
            let count = character.unicodeScalars.count
            let range = graphemeStart..<(graphemeStart + count)
            graphemeStart += count
            utf8.removeAll(keepingCapacity: true)
            for s in scalars[range] { utf8.append(contentsOf: UTF8.encode(s)!) }  // safe: a Unicode.Scalar always encodes
            if utf8.count < 6, let norm = utf8.withUnsafeBufferPointer({ lookup($0) }) {
                modified = true
                Self.replace(&dest, oldCount: count, new: norm)
                continue
            }
            for s in scalars[range] {
                let bytes = Array(UTF8.encode(s)!)  // safe: a Unicode.Scalar always encodes
                if let norm = bytes.withUnsafeBufferPointer({ lookup($0) }) {
                    modified = true
                    Self.replace(&dest, oldCount: 1, new: norm)
                } else {
                    dest.append((s, 0))
                }
            }
        }
        if modified { text.transform(with: dest) }
    }

    /// Hugging Face's bookkeeping for replacing `oldCount` scalars by `new` (UTF-8).
    private static func replace(_ dest: inout [(Unicode.Scalar, Int)], oldCount: Int, new: ArraySlice<UInt8>) {
        let newScalars = Array(String(decoding: new, as: UTF8.self).unicodeScalars)
        let diff = newScalars.count - oldCount
        for s in newScalars { dest.append((s, 0)) }
        if diff > 0 {
            // diff < newScalars.count because oldCount ≥ 1: only new entries are marked inserted.
            for k in (dest.count - diff)..<dest.count { dest[k].1 = 1 }
        } else if diff < 0, !dest.isEmpty {
            dest[dest.count - 1].1 += diff
        }
    }
}

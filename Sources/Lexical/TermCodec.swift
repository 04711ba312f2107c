/// A chunk's term list as bytes for its row: little-endian (u32 term id, u16 tf) pairs. The
/// terms' text lives once per collection, in the owner's term table.
public enum TermCodec {
    public static func encode(_ list: [BM25Index.TermFrequency]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(list.count * 6)
        for t in list {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: t.term >> (8 * i))) }
            out.append(UInt8(truncatingIfNeeded: t.tf))
            out.append(UInt8(truncatingIfNeeded: t.tf >> 8))
        }
        return out
    }

    /// nil when the bytes are not a whole number of pairs or name a term the table lacks.
    public static func decode(_ bytes: some Collection<UInt8>, termCount: Int) -> [BM25Index.TermFrequency]? {
        // Start-up decodes every stored list: read them in place, not byte by byte through a
        // generic iterator (35 s against 1.8 s for a million lists).
        if let out = bytes.withContiguousStorageIfAvailable({ decode(UnsafeRawBufferPointer($0), termCount: termCount) }) { return out }
        return Array(bytes).withUnsafeBytes { decode($0, termCount: termCount) }
    }

    public static func decode(_ raw: UnsafeRawBufferPointer, termCount: Int) -> [BM25Index.TermFrequency]? {
        guard raw.count % 6 == 0 else { return nil }
        let n = raw.count / 6
        var bad = false
        let out = [BM25Index.TermFrequency](unsafeUninitializedCapacity: n) { buffer, initialised in
            for i in 0..<n {
                let term = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 6, as: UInt32.self))
                let tf = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 6 + 4, as: UInt16.self))
                if Int(term) >= termCount { bad = true; break }
                buffer[i] = BM25Index.TermFrequency(term: term, tf: tf)
                initialised = i + 1
            }
        }
        return bad ? nil : out
    }
}

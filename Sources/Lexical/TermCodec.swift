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
        guard bytes.count % 6 == 0 else { return nil }
        var out = [BM25Index.TermFrequency]()
        out.reserveCapacity(bytes.count / 6)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            guard let b1 = it.next(), let b2 = it.next(), let b3 = it.next(), let t0 = it.next(), let t1 = it.next() else { return nil }
            let term = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
            guard Int(term) < termCount else { return nil }
            out.append(BM25Index.TermFrequency(term: term, tf: UInt16(t0) | UInt16(t1) << 8))
        }
        return out
    }
}

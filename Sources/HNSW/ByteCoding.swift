/// Little-endian byte writing and bounds-checked reading for the record codec.
struct ByteWriter {
    var data: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}

struct ByteReader {
    let data: ArraySlice<UInt8>
    var offset: Int
    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        offset = data.startIndex
    }
    var remaining: Int { data.endIndex - offset }
    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard remaining >= n else { throw HNSWError("record is truncated") }
        defer { offset += n }
        return Array(data[offset..<(offset + n)])
    }
    mutating func u8() throws -> UInt8 { try bytes(1)[0] }
    mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw HNSWError("record is truncated") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(data[offset + i]) << (8 * i) }
        offset += 4
        return v
    }
    mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw HNSWError("record is truncated") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(data[offset + i]) << (8 * i) }
        offset += 8
        return v
    }
}

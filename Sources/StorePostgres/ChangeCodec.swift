import Foundation
import NestorCore

/// The change log's byte form of a `LoggedChange`: little-endian, led by a version byte, with
/// vectors as raw float32 runs. The log belongs to this store (a follower reads back what this
/// store wrote), so the format is private to it; graph records and term lists travel as the
/// opaque bytes the index gave the store.
enum ChangeCodec {
    static let version: UInt8 = 1

    static func encode(_ change: LoggedChange) -> [UInt8] {
        var w = Writer()
        w.u8(version)
        switch change {
        case .created(let s):
            w.u8(1)
            w.string(s.name); w.string(s.model); w.int(s.dimensions); w.int(s.coarseDimensions); w.int(s.m); w.int(s.efConstruction)
            w.u64(s.seed); w.double(s.bm25K1); w.double(s.bm25B); w.u8(s.foldDiacritics ? 1 : 0)
        case .dropped(let name):
            w.u8(2)
            w.string(name)
        case .batch(let collection, let b):
            w.u8(3)
            w.string(collection)
            w.int(b.upserts.count)
            for d in b.upserts {
                w.string(d.id); w.string(d.text); w.string(MetadataValue.jsonText(d.metadata))
                w.int(d.chunks.count)
                for c in d.chunks {
                    w.u64(c.label); w.int(c.ordinal); w.string(c.text); w.int(c.tokenStart); w.int(c.tokenEnd)
                    w.floats(c.vector); w.bytes(c.terms)
                }
            }
            w.int(b.deletions.count)
            for id in b.deletions { w.string(id) }
            if let g = b.graph {
                w.u8(g.replacesAll ? 2 : 1)
                w.bytes(g.header)
                w.int(g.rows.count)
                for r in g.rows { w.int(r.node); w.bytes(r.bytes) }
            } else {
                w.u8(0)
            }
            w.int(b.newTerms.count)
            for t in b.newTerms { w.int(t.id); w.string(t.term) }
            w.int(b.chunkTerms.count)
            for c in b.chunkTerms { w.u64(c.label); w.bytes(c.terms) }
            switch b.rotation {
            case .none: w.u8(0)
            case .some(.none): w.u8(1)
            case .some(.some(let r)): w.u8(2); w.floats(r)
            }
        }
        return w.data
    }

    static func decode(_ bytes: [UInt8]) throws -> LoggedChange {
        var r = Reader(bytes: bytes)
        guard try r.u8() == version else { throw StoreError(.corrupt, "a change log entry was written in another format") }
        switch try r.u8() {
        case 1:
            let spec = CollectionSpec(name: try r.string(), model: try r.string(), dimensions: try r.int(), coarseDimensions: try r.int(),
                                      m: try r.int(), efConstruction: try r.int(), seed: try r.u64(), bm25K1: try r.double(),
                                      bm25B: try r.double(), foldDiacritics: try r.u8() != 0)
            try r.end()
            return .created(spec)
        case 2:
            let name = try r.string()
            try r.end()
            return .dropped(name)
        case 3:
            let collection = try r.string()
            var b = BatchWrite()
            for _ in 0..<(try r.count()) {
                var d = DocumentRow(id: try r.string(), text: try r.string(), metadata: MetadataValue.fields(ofJSON: try r.string()))
                for _ in 0..<(try r.count()) {
                    d.chunks.append(ChunkRow(label: try r.u64(), documentId: d.id, ordinal: try r.int(), text: try r.string(),
                                             tokenStart: try r.int(), tokenEnd: try r.int(), vector: try r.floats(), terms: try r.bytes()))
                }
                b.upserts.append(d)
            }
            for _ in 0..<(try r.count()) { b.deletions.append(try r.string()) }
            let graphKind = try r.u8()
            if graphKind != 0 {
                let header = try r.bytes()
                var rows = [GraphRecordRow]()
                for _ in 0..<(try r.count()) { rows.append(GraphRecordRow(node: try r.int(), bytes: try r.bytes())) }
                b.graph = GraphRecordChanges(header: header, rows: rows, replacesAll: graphKind == 2)
            }
            for _ in 0..<(try r.count()) { b.newTerms.append((id: try r.int(), term: try r.string())) }
            for _ in 0..<(try r.count()) { b.chunkTerms.append((label: try r.u64(), terms: try r.bytes())) }
            switch try r.u8() {
            case 0: b.rotation = nil
            case 1: b.rotation = .some(nil)
            case 2: b.rotation = .some(try r.floats())
            default: throw StoreError(.corrupt, "a change log entry has an unknown rotation kind")
            }
            try r.end()
            return .batch(collection: collection, b)
        default:
            throw StoreError(.corrupt, "a change log entry has an unknown kind")
        }
    }

    struct Writer {
        var data: [UInt8] = []
        mutating func u8(_ v: UInt8) { data.append(v) }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
        mutating func double(_ v: Double) { u64(v.bitPattern) }
        mutating func bytes(_ b: [UInt8]) { int(b.count); data.append(contentsOf: b) }
        mutating func string(_ s: String) { bytes(Array(s.utf8)) }
        mutating func floats(_ v: [Float]) {
            int(v.count)
            v.withUnsafeBytes { data.append(contentsOf: $0) }  // little-endian hosts only (x86-64, arm64)
        }
    }

    struct Reader {
        let data: [UInt8]
        var offset = 0
        init(bytes: [UInt8]) { data = bytes }
        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, data.count - offset >= n else { throw StoreError(.corrupt, "a change log entry is truncated") }
            defer { offset += n }
            return data[offset..<(offset + n)]
        }
        mutating func u8() throws -> UInt8 { try take(1).first! }  // safe: take(1) returned one byte
        mutating func u64() throws -> UInt64 {
            try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        mutating func int() throws -> Int { Int(Int64(bitPattern: try u64())) }
        /// A length or count: never more than the bytes left (so damage cannot ask for terabytes).
        mutating func count() throws -> Int {
            let n = try int()
            guard n >= 0, n <= data.count - offset else { throw StoreError(.corrupt, "a change log entry has an implausible length") }
            return n
        }
        mutating func double() throws -> Double { Double(bitPattern: try u64()) }
        mutating func bytes() throws -> [UInt8] { Array(try take(try count())) }
        mutating func string() throws -> String {
            let b = try bytes()
            guard let s = String(validating: b, as: UTF8.self) else { throw StoreError(.corrupt, "a change log entry has malformed text") }
            return s
        }
        mutating func floats() throws -> [Float] {
            let n = try int()
            guard n >= 0, n <= (data.count - offset) / 4 else { throw StoreError(.corrupt, "a change log entry has an implausible length") }
            let raw = try take(n * 4)
            return raw.withUnsafeBytes { p in (0..<n).map { p.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        }
        func end() throws {
            guard offset == data.count else { throw StoreError(.corrupt, "a change log entry has trailing bytes") }
        }
    }
}

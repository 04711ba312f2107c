import Foundation

/// Tensors of one or more `.safetensors` files, memory-mapped and validated at open; values are
/// converted to float32 only when a layer asks for them, once, at load.
public struct TensorStore: Sendable {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16", bf16 = "BF16", other }

    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        /// Which mapped file, and the byte range of the data in it.
        var file: Int
        var range: Range<Int>
    }

    private let files: [MappedFile]
    /// Path of each mapped file, for errors.
    private let paths: [String]
    /// `model.safetensors` or the shard index: what a missing tensor's error names.
    public let source: String
    public let entries: [String: Entry]

    /// Opens `model.safetensors`, or every shard listed in `model.safetensors.index.json`.
    public init(folder: URL) throws {
        let single = folder.appendingPathComponent("model.safetensors")
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        var names: [String]
        if FileManager.default.fileExists(atPath: single.path) {
            names = ["model.safetensors"]
            source = single.path
        } else if FileManager.default.fileExists(atPath: index.path) {
            guard let data = FileManager.default.contents(atPath: index.path),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = obj["weight_map"] as? [String: String] else {
                throw ModelError(.malformedFile, file: index.path, "expected an object with a weight_map")
            }
            names = Array(Set(map.values)).sorted()
            guard !names.isEmpty, names.allSatisfy({ !$0.contains("/") && !$0.hasPrefix(".") }) else {
                throw ModelError(.malformedFile, file: index.path, "weight_map must name shard files in the folder")
            }
            source = index.path
        } else {
            throw ModelError(.missingFile, file: single.path, "no model.safetensors or model.safetensors.index.json")
        }
        var files = [MappedFile](), paths = [String]()
        var entries = [String: Entry]()
        for (i, name) in names.enumerated() {
            let path = folder.appendingPathComponent(name).path
            let f = try MappedFile(path: path)
            files.append(f)
            paths.append(path)
            for (k, e) in try Self.parseHeader(f, fileIndex: i, path: path) { entries[k] = e }
        }
        self.files = files
        self.paths = paths
        self.entries = entries
    }

    /// Bytes per element of the dtypes safetensors defines; nil for unknown ones (not validated).
    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": 1
        default: nil
        }
    }

    /// Reads and validates the header: u64 little-endian length, then a JSON object whose
    /// entries must lie inside the file with exactly shape × element size bytes. All arithmetic
    /// is overflow-checked, so a hostile header is an error, not a trap.
    private static func parseHeader(_ f: MappedFile, fileIndex: Int, path: String) throws -> [String: Entry] {
        guard f.count >= 8 else { throw ModelError(.malformedFile, file: path, "shorter than a safetensors header") }
        var rawLength: UInt64 = 0
        for i in 0..<8 { rawLength |= UInt64(f.bytes[i]) << (8 * UInt64(i)) }
        guard rawLength > 0, rawLength <= UInt64(f.count - 8), rawLength < 100_000_000 else {
            throw ModelError(.malformedFile, file: path,
                             "header length \(rawLength) does not fit a file of \(f.count) bytes (truncated or not safetensors)")
        }
        let headerLength = Int(rawLength)
        let header = Data(bytes: f.bytes + 8, count: headerLength)
        guard let obj = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw ModelError(.malformedFile, file: path, "the header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = f.count - dataStart
        var out = [String: Entry]()
        for (name, value) in obj where name != "__metadata__" {
            guard let d = value as? [String: Any], let dt = d["dtype"] as? String,
                  let shape = (d["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (d["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
                throw ModelError(.malformedFile, file: path, "tensor \(name) has a malformed header entry")
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw ModelError(.malformedFile, file: path,
                                 "tensor \(name) data \(offsets) lies outside the file's \(dataSize) data bytes (truncated?)")
            }
            var elements = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard dim >= 0, !overflow else {
                    throw ModelError(.malformedFile, file: path, "tensor \(name) has an invalid shape \(shape)")
                }
                elements = product
            }
            let byteCount = offsets[1] - offsets[0]
            if let width = elementSize(dt) {
                let (expected, overflow) = elements.multipliedReportingOverflow(by: width)
                guard !overflow, expected == byteCount else {
                    throw ModelError(.malformedFile, file: path, "tensor \(name) has \(byteCount) bytes for shape \(shape) of \(dt)")
                }
            }
            out[name] = Entry(dtype: DType(rawValue: dt) ?? .other, shape: shape, file: fileIndex,
                              range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        return out
    }

    /// The first of `names` that exists (checkpoints differ in prefixes such as `bert.`).
    public func resolve(_ names: [String]) -> String? { names.first { entries[$0] != nil } }

    /// The tensor as float32, checking its shape.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let e = entries[name] else { throw ModelError(.missingTensor, file: source, "missing tensor \(name)") }
        let file = paths[e.file]
        guard e.shape == shape else {
            throw ModelError(.wrongShape, file: file, "tensor \(name) has shape \(e.shape), expected \(shape)")
        }
        if e.dtype == .other {
            throw ModelError(.unsupported, file: file, "tensor \(name) has an unsupported dtype")
        }
        let n = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { Self.convert(files[e.file].bytes + e.range.lowerBound, e.dtype, count: n, into: $0) }
        return out
    }

    /// Some rows of a 2-D tensor of shape [rows, width] as float32, concatenated in the order
    /// asked, without converting the rest: a decoder reranker needs two rows of a language-model
    /// head that, converted whole, would be gigabytes (151,669 × 2,560 for Qwen3-Reranker-4B).
    public func rows(_ name: String, _ indices: [Int], shape: [Int]) throws -> [Float] {
        guard let e = entries[name] else { throw ModelError(.missingTensor, file: source, "missing tensor \(name)") }
        let file = paths[e.file]
        guard shape.count == 2, e.shape == shape else {
            throw ModelError(.wrongShape, file: file, "tensor \(name) has shape \(e.shape), expected \(shape)")
        }
        guard let width = Self.elementSize(e.dtype.rawValue), e.dtype != .other else {
            throw ModelError(.unsupported, file: file, "tensor \(name) has an unsupported dtype")
        }
        let (count, w) = (shape[0], shape[1])
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw ModelError(.invalidConfig, file: file, "row \(bad) is outside tensor \(name)'s \(count) rows")
        }
        var out = [Float](repeating: 0, count: indices.count * w)
        out.withUnsafeMutableBufferPointer { dst in
            for (k, row) in indices.enumerated() {
                // In bounds: the header check proved the data holds count × w elements.
                let src = files[e.file].bytes + e.range.lowerBound + row * w * width
                Self.convert(src, e.dtype, count: w, into: UnsafeMutableBufferPointer(rebasing: dst[(k * w)..<((k + 1) * w)]))
            }
        }
        return out
    }

    /// `count` little-endian values of `dtype` at `base` as float32 (nothing for `.other`).
    private static func convert(_ base: UnsafePointer<UInt8>, _ dtype: DType, count n: Int, into dst: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .f32:
            if let d = dst.baseAddress, n > 0 { memcpy(d, base, n * 4) }
        case .f16:
            for i in 0..<n {
                let bits = UInt16(base[2 * i]) | UInt16(base[2 * i + 1]) << 8
                dst[i] = Float(Float16(bitPattern: bits))
            }
        case .bf16:
            for i in 0..<n {
                let bits = UInt32(base[2 * i]) << 16 | UInt32(base[2 * i + 1]) << 24
                dst[i] = Float(bitPattern: bits)
            }
        case .other:
            break
        }
    }
}

/// A read-only memory map, unmapped when the last copy of the store goes away.
final class MappedFile: Sendable {
    // The mapping is read-only and never changes after init, so sharing the pointer is safe.
    nonisolated(unsafe) let bytes: UnsafePointer<UInt8>
    let count: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelError(.unreadableFile, file: path, "cannot open the file") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelError(.unreadableFile, file: path, "cannot stat the file") }
        count = Int(st.st_size)
        guard count > 0 else { throw ModelError(.malformedFile, file: path, "the file is empty") }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelError(.unreadableFile, file: path, "cannot map the file")
        }
        bytes = UnsafePointer(p.assumingMemoryBound(to: UInt8.self))
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes), count) }
}

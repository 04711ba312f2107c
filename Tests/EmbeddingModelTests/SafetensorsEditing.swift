import Foundation
import Testing

/// Reads and writes safetensors files byte by byte, so tests can build broken, renamed or
/// sharded variants of the fixture models.
struct SafetensorsFile {
    var header: [String: Any]
    var data: Data

    init(url: URL) throws {
        let bytes = try Data(contentsOf: url)
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        header = try #require(try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as? [String: Any])
        data = bytes.subdata(in: (8 + length)..<bytes.count)
    }

    init(header: [String: Any], data: Data) {
        self.header = header
        self.data = data
    }

    var tensorNames: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

    func write(to url: URL) throws {
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data)
        try out.write(to: url)
    }

    /// Only the named tensors, with their bytes copied and offsets recomputed.
    func subset(_ names: [String]) -> SafetensorsFile {
        var h = [String: Any](), d = Data()
        for name in names {
            guard var entry = header[name] as? [String: Any], let o = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue) else { continue }
            let start = d.count
            d.append(data.subdata(in: o[0]..<o[1]))
            entry["data_offsets"] = [start, d.count]
            h[name] = entry
        }
        return SafetensorsFile(header: h, data: d)
    }

    /// The float32 values of a tensor.
    func floats(_ name: String) throws -> [Float] {
        let entry = try #require(header[name] as? [String: Any])
        let o = try #require((entry["data_offsets"] as? [NSNumber])?.map(\.intValue))
        return data.subdata(in: o[0]..<o[1]).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The tensor replaced by float32 `values` of `shape` (appended; the old bytes stay unused).
    func replacing(_ name: String, shape: [Int], values: [Float]) -> SafetensorsFile {
        var h = header, d = data
        let start = d.count
        values.withUnsafeBytes { d.append(contentsOf: $0) }
        h[name] = ["dtype": "F32", "shape": shape, "data_offsets": [start, d.count]]
        return SafetensorsFile(header: h, data: d)
    }

    /// Every tensor renamed by `rename`.
    func renamed(_ rename: (String) -> String) -> SafetensorsFile {
        var h = [String: Any]()
        for (k, v) in header { h[k == "__metadata__" ? k : rename(k)] = v }
        return SafetensorsFile(header: h, data: data)
    }
}

/// A throw-away copy of a fixture folder.
struct ScratchFolder {
    let url: URL

    init(copying name: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: ModelFixtures.folder(name), to: url)
    }

    var weights: URL { url.appendingPathComponent("model.safetensors") }

    func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
        let file = url.appendingPathComponent("config.json")
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        edit(&cfg)
        try JSONSerialization.data(withJSONObject: cfg).write(to: file)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

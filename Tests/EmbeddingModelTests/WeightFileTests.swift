import Foundation
import Testing
@testable import EmbeddingModel

/// Weight files: sharded checkpoints and prefixed tensor names load to the same vectors;
/// missing, truncated or hostile files give errors naming the file and tensor.
@Suite struct WeightFileTests {
    static let sample: [[Int]] = [[101, 7592, 2088, 102], [101, 2023, 102]]

    func expectError(in folder: URL, _ check: (ModelError) -> Void) {
        do {
            _ = try SentenceEmbedder(folder: folder)
            Issue.record("expected an error")
        } catch let e as ModelError {
            check(e)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func missingTensorNamesFileAndTensor() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        var file = try SafetensorsFile(url: dir.weights)
        let victim = try #require(file.tensorNames.first { $0.hasSuffix("encoder.layer.1.output.dense.bias") })
        file.header[victim] = nil
        try file.write(to: dir.weights)
        expectError(in: dir.url) { e in
            #expect(e.code == .missingTensor)
            #expect(e.file.hasSuffix("model.safetensors"))
            #expect(e.message.contains("encoder.layer.1.output.dense.bias"), "\(e)")
        }
    }

    @Test func truncatedHeaderNamesTheFile() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        for keep in [0, 5, 8, 40] {
            try Data(contentsOf: dir.weights).prefix(keep).write(to: dir.weights)
            expectError(in: dir.url) { e in
                #expect(e.code == .malformedFile, "\(keep) bytes: \(e)")
                #expect(e.file.hasSuffix("model.safetensors"))
            }
            try FileManager.default.removeItem(at: dir.weights)
            try FileManager.default.copyItem(at: ModelFixtures.folder("tiny-bert").appendingPathComponent("model.safetensors"), to: dir.weights)
        }
    }

    @Test func truncatedDataNamesTheTensor() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        let bytes = try Data(contentsOf: dir.weights)
        try bytes.prefix(bytes.count - 100).write(to: dir.weights)
        expectError(in: dir.url) { e in
            #expect(e.code == .malformedFile && e.message.contains("tensor "), "\(e)")
        }
    }

    /// Shapes and offsets chosen to overflow naive arithmetic must be rejected, not trap.
    @Test(arguments: [
        ["dtype": "F32", "shape": [Int.max, 4], "data_offsets": [0, 16]],
        ["dtype": "F32", "shape": [1 << 62], "data_offsets": [0, 16]],
        ["dtype": "F32", "shape": [4], "data_offsets": [Int.max - 4, Int.max]],
        ["dtype": "F32", "shape": [4], "data_offsets": [16, 0]],
        ["dtype": "F32", "shape": [-4], "data_offsets": [0, 16]],
        ["dtype": "F16", "shape": [4], "data_offsets": [0, 16]],
        ["dtype": "F32", "shape": "four", "data_offsets": [0, 16]],
    ] as [[String: any Sendable]])
    func hostileHeaderEntryIsAnError(entry: [String: any Sendable]) throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        var file = try SafetensorsFile(url: dir.weights)
        file.header["evil"] = entry
        try file.write(to: dir.weights)
        expectError(in: dir.url) { e in
            #expect(e.code == .malformedFile && e.message.contains("evil"), "\(e)")
        }
    }

    @Test func hugeHeaderLengthIsAnError() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        var bytes = try Data(contentsOf: dir.weights)
        for i in 0..<8 { bytes[i] = 0xFF }
        try bytes.write(to: dir.weights)
        expectError(in: dir.url) { e in #expect(e.code == .malformedFile && e.file.hasSuffix("model.safetensors")) }
    }

    /// `bert.`-prefixed names (as `BertForMaskedLM` checkpoints store them) load unchanged.
    @Test func prefixedTensorNamesLoad() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        try SafetensorsFile(url: dir.weights).renamed { "bert." + $0 }.write(to: dir.weights)
        let plain = try SentenceEmbedder(folder: ModelFixtures.folder("tiny-bert")).embed(Self.sample)
        let prefixed = try SentenceEmbedder(folder: dir.url).embed(Self.sample)
        #expect(plain == prefixed)
    }

    /// A checkpoint split into shards with `model.safetensors.index.json` gives the same vectors;
    /// a tensor missing from every shard is reported against the index.
    @Test(arguments: ["tiny-bert", "tiny-qwen3"])
    func shardedCheckpointLoads(name: String) throws {
        let dir = try ScratchFolder(copying: name)
        defer { dir.remove() }
        let whole = try SafetensorsFile(url: dir.weights)
        let names = whole.tensorNames
        let halves = [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))]
        var weightMap = [String: String]()
        for (i, part) in halves.enumerated() {
            let shard = "model-0000\(i + 1)-of-00002.safetensors"
            try whole.subset(part).write(to: dir.url.appendingPathComponent(shard))
            for n in part { weightMap[n] = shard }
        }
        try FileManager.default.removeItem(at: dir.weights)
        let index = dir.url.appendingPathComponent("model.safetensors.index.json")
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap]).write(to: index)
        let ids: [[Int]] = [[1, 2, 3, 4], [5, 6]]
        let reference = try SentenceEmbedder(folder: ModelFixtures.folder(name)).embed(ids)
        let sharded = try SentenceEmbedder(folder: dir.url).embed(ids)
        for (a, b) in zip(sharded, reference) { #expect(maxAbsDiff(a, b) <= 1e-6) }

        let second = dir.url.appendingPathComponent("model-00002-of-00002.safetensors")
        let victim = try #require(halves[1].first { $0.hasSuffix(".weight") })
        try whole.subset(halves[1].filter { $0 != victim }).write(to: second)
        expectError(in: dir.url) { e in
            #expect(e.code == .missingTensor && e.message.contains(victim), "\(e)")
            #expect(e.file.hasSuffix("model.safetensors.index.json"))
        }
    }

    /// Integer buffers some checkpoints carry (`position_ids`, int64) are validated, not loaded.
    @Test func integerTensorsAreIgnored() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        var file = try SafetensorsFile(url: dir.weights)
        let start = file.data.count
        for p in 0..<4 { var v = Int64(p).littleEndian; withUnsafeBytes(of: &v) { file.data.append(contentsOf: $0) } }
        file.header["embeddings.position_ids"] = ["dtype": "I64", "shape": [1, 4], "data_offsets": [start, start + 32]]
        try file.write(to: dir.weights)
        let reference = try SentenceEmbedder(folder: ModelFixtures.folder("tiny-bert")).embed(Self.sample)
        #expect(try SentenceEmbedder(folder: dir.url).embed(Self.sample) == reference)
    }

    @Test func shardIndexOutsideTheFolderIsRejected() throws {
        let dir = try ScratchFolder(copying: "tiny-bert")
        defer { dir.remove() }
        try FileManager.default.removeItem(at: dir.weights)
        let index = dir.url.appendingPathComponent("model.safetensors.index.json")
        try JSONSerialization.data(withJSONObject: ["weight_map": ["a": "../../etc/passwd"]]).write(to: index)
        expectError(in: dir.url) { e in #expect(e.code == .malformedFile && e.file.hasSuffix("index.json")) }
    }
}

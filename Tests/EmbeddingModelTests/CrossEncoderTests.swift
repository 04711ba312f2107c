import Foundation
import Testing
@testable import EmbeddingModel

/// sentence-transformers `CrossEncoder.predict` parity on the tiny cross-encoder fixtures
/// (scripts/golden/gen_cross_encoder_fixtures.py): scores and raw logits per pair from the
/// reference token ids, alone and batched, and the folder rules (activation, not a cross-encoder).
@Suite struct CrossEncoderTests {
    static let models = ["tiny-ce-bert", "tiny-ce-xlmr"]

    struct Case {
        var ids: [Int]
        var types: [Int]
        var logits: [Float]
        var score: Float
        var scoreBatched: Float
    }

    static func cases(_ folder: URL) throws -> (ref: [String: Any], cases: [Case]) {
        let ref = try ModelFixtures.reference(folder.appendingPathComponent("reference.json"))
        let raw = try #require(ref["cases"] as? [[String: Any]])
        let cases = try raw.map { c in
            Case(ids: try #require(c["input_ids"] as? [Int]), types: try #require(c["token_type_ids"] as? [Int]),
                 logits: try #require(c["logits"] as? [NSNumber]).map(\.floatValue),
                 score: try #require(c["score"] as? NSNumber).floatValue,
                 scoreBatched: try #require(c["score_batched"] as? NSNumber).floatValue)
        }
        return (ref, cases)
    }

    @Test(arguments: models)
    func scoresMatchSentenceTransformers(name: String) throws {
        let folder = ModelFixtures.folder(name)
        let model = try CrossEncoderModel(folder: folder)
        let (ref, cases) = try Self.cases(folder)
        #expect(model.labels == 1)
        #expect(model.activation.torchPath == ref["activation"] as? String)
        #expect(model.maxSequenceLength == (ref["max_length"] as? Int))
        var worstScore: Float = 0, worstLogit: Float = 0
        for (k, c) in cases.enumerated() {
            let logits = try model.logits([c.ids], typeIds: [c.types])[0]
            let score = try model.scores([c.ids], typeIds: [c.types])[0]
            #expect(logits.count == 1 && score.count == 1)
            worstScore = max(worstScore, abs(score[0] - c.score))
            worstLogit = max(worstLogit, abs(logits[0] - c.logits[0]))
            #expect(abs(score[0] - c.score) <= 1e-5, "\(name) pair \(k): score \(score[0]) vs \(c.score)")
            #expect(abs(logits[0] - c.logits[0]) <= 1e-5, "\(name) pair \(k): logit \(logits[0]) vs \(c.logits[0])")
        }
        print("\(name): \(cases.count) pairs, max |Δscore| \(worstScore), max |Δlogit| \(worstLogit)")
    }

    @Test(arguments: models)
    func batchedEqualsAlone(name: String) throws {
        let folder = ModelFixtures.folder(name)
        let model = try CrossEncoderModel(folder: folder)
        let (_, cases) = try Self.cases(folder)
        let alone = try cases.map { try model.scores([$0.ids], typeIds: [$0.types])[0][0] }
        let batched = try model.scores(cases.map(\.ids), typeIds: cases.map(\.types)).map { $0[0] }
        let threaded = try model.scores(cases.map(\.ids), typeIds: cases.map(\.types), threads: 2).map { $0[0] }
        for k in cases.indices {
            #expect(abs(batched[k] - alone[k]) <= 1e-5, "\(name) pair \(k): batched \(batched[k]) vs alone \(alone[k])")
            #expect(abs(threaded[k] - alone[k]) <= 1e-5, "\(name) pair \(k): threads 2")
            #expect(abs(batched[k] - cases[k].scoreBatched) <= 1e-5, "\(name) pair \(k): vs sentence-transformers' batch")
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            let subset = Array(cases.indices.shuffled(using: &rng).prefix(6))
            let out = try model.scores(subset.map { cases[$0].ids }, typeIds: subset.map { cases[$0].types })
            for (s, i) in zip(out, subset) { #expect(abs(s[0] - alone[i]) <= 1e-5, "\(name) pair \(i) in \(subset)") }
        }
    }

    /// BERT reads the type ids of the pair template: zeroing them changes the score.
    @Test func bertUsesTypeIds() throws {
        let folder = ModelFixtures.folder("tiny-ce-bert")
        let model = try CrossEncoderModel(folder: folder)
        let c = try Self.cases(folder).cases[0]
        let with = try model.logits([c.ids], typeIds: [c.types])[0][0]
        let without = try model.logits([c.ids])[0][0]
        #expect(abs(with - without) > 1e-3)
    }

    @Test func emptyInputs() throws {
        let model = try CrossEncoderModel(folder: ModelFixtures.folder("tiny-ce-bert"))
        #expect(try model.scores([]).isEmpty)
        #expect(throws: ModelError.self) { try model.scores([[2, 3], []]) }
        #expect(throws: ModelError.self) { try model.scores([[2, 99_999, 3]]) }
    }

    // MARK: folder rules

    func copy(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-ce-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: ModelFixtures.folder(name), to: dir)
        return dir
    }

    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var obj = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    @Test(arguments: ["tiny-bert", "tiny-xlmr", "tiny-qwen3"])
    func embeddingModelsAreNotCrossEncoders(name: String) throws {
        do {
            _ = try CrossEncoderModel(folder: ModelFixtures.folder(name))
            Issue.record("\(name) loaded as a cross-encoder")
        } catch let e as ModelError {
            #expect(e.code == .unsupported)
            #expect(e.message.contains("BertForSequenceClassification"), "\(e)")
        }
    }

    @Test func decoderRerankerIsNamedAsUnsupported() throws {
        let dir = try copy("tiny-ce-bert")
        defer { try? FileManager.default.removeItem(at: dir) }
        try editJSON(dir.appendingPathComponent("config.json")) { $0["architectures"] = ["Qwen3ForCausalLM"]; $0["model_type"] = "qwen3" }
        do {
            _ = try CrossEncoderModel(folder: dir)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.code == .unsupported && e.message.contains("Qwen3-Reranker"), "\(e)")
        }
    }

    @Test func poolingModuleIsNotACrossEncoder() throws {
        let dir = try copy("tiny-ce-bert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modules: [[String: Any]] = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
        ]
        try JSONSerialization.data(withJSONObject: modules).write(to: dir.appendingPathComponent("modules.json"))
        #expect(throws: ModelError.self) { try CrossEncoderModel(folder: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("modules.json"))
        try editJSON(dir.appendingPathComponent("sentence_bert_config.json")) { $0["transformer_task"] = "feature-extraction" }
        #expect(throws: ModelError.self) { try CrossEncoderModel(folder: dir) }
    }

    @Test func missingHeadNamesTheTensor() throws {
        let dir = try copy("tiny-ce-xlmr")
        defer { try? FileManager.default.removeItem(at: dir) }
        try editJSON(dir.appendingPathComponent("config.json")) { $0["architectures"] = ["BertForSequenceClassification"] }
        do {
            _ = try CrossEncoderModel(folder: dir)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.code == .missingTensor && e.message.contains("pooler"), "\(e)")
        }
        try editJSON(dir.appendingPathComponent("config.json")) { $0["architectures"] = ["XLMRobertaForSequenceClassification"]; $0["num_labels"] = 3 }
        do {
            _ = try CrossEncoderModel(folder: dir)
            Issue.record("expected an error")
        } catch let e as ModelError {
            #expect(e.code == .wrongShape && e.message.contains("classifier.out_proj"), "\(e)")
        }
    }

    /// The order sentence-transformers 6 reads the activation in, and its defaults.
    @Test func activationResolution() throws {
        let dir = try copy("tiny-ce-bert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let st = dir.appendingPathComponent("config_sentence_transformers.json")
        let cfg = dir.appendingPathComponent("config.json")
        #expect(try CrossEncoderModel(folder: dir).activation == .sigmoid)
        try editJSON(st) { $0["activation_fn"] = "torch.nn.modules.linear.Identity" }
        #expect(try CrossEncoderModel(folder: dir).activation == .identity)
        // config_sentence_transformers.json wins over config.json.
        try editJSON(cfg) { $0["sentence_transformers"] = ["activation_fn": "torch.nn.modules.activation.Tanh"] }
        #expect(try CrossEncoderModel(folder: dir).activation == .identity)
        // Without it: config.json's sentence_transformers section, then the pre-v4 key.
        try editJSON(st) { $0.removeValue(forKey: "activation_fn") }
        #expect(try CrossEncoderModel(folder: dir).activation == .tanh)
        try editJSON(cfg) { $0.removeValue(forKey: "sentence_transformers"); $0["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity" }
        #expect(try CrossEncoderModel(folder: dir).activation == .identity)
        // An untrusted (non-torch) path is ignored, as without trust_remote_code: the default.
        try editJSON(cfg) { $0["sbert_ce_default_activation_function"] = "my_package.MyActivation" }
        #expect(try CrossEncoderModel(folder: dir).activation == .sigmoid)
        try editJSON(cfg) { $0["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.GELU" }
        #expect(throws: ModelError.self) { try CrossEncoderModel(folder: dir) }
    }

    /// A head with three labels: every logit per pair, Identity by default, Softmax on request.
    @Test func severalLabels() throws {
        let folder = try ScratchFolder(copying: "tiny-ce-xlmr")
        defer { folder.remove() }
        let file = try SafetensorsFile(url: folder.weights)
        let w = try file.floats("classifier.out_proj.weight"), b = try file.floats("classifier.out_proj.bias")[0]
        try file.replacing("classifier.out_proj.weight", shape: [3, w.count], values: w + w + w.map { -$0 })
            .replacing("classifier.out_proj.bias", shape: [3], values: [b, b + 1, -b])
            .write(to: folder.weights)
        try folder.editConfig { $0["num_labels"] = 3; $0.removeValue(forKey: "id2label"); $0.removeValue(forKey: "sentence_transformers") }
        let model = try CrossEncoderModel(folder: folder.url)
        #expect(model.labels == 3 && model.activation == .identity)
        let c = try Self.cases(ModelFixtures.folder("tiny-ce-xlmr")).cases[0]
        let l = try model.scores([c.ids])[0]
        #expect(l.count == 3)
        #expect(abs(l[0] - c.logits[0]) <= 1e-5 && abs(l[1] - (c.logits[0] + 1)) <= 1e-5 && abs(l[2] + c.logits[0]) <= 1e-5, "\(l)")
        try folder.editConfig { $0["sentence_transformers"] = ["activation_fn": "torch.nn.modules.activation.Softmax"] }
        let p = try CrossEncoderModel(folder: folder.url).scores([c.ids])[0]
        #expect(abs(p.reduce(0, +) - 1) <= 1e-6 && p[1] > p[0])
    }

    @Test func labelCounts() throws {
        #expect(try CrossEncoderModel.labelCount(["num_labels": 3], file: "x") == 3)
        #expect(try CrossEncoderModel.labelCount(["id2label": ["0": "a", "1": "b"]], file: "x") == 2)
        #expect(try CrossEncoderModel.labelCount([:], file: "x") == 2)
        #expect(throws: ModelError.self) { try CrossEncoderModel.labelCount(["num_labels": 0], file: "x") }
    }

    @Test func activations() {
        #expect(CrossEncoderActivation.sigmoid.apply([0])[0] == 0.5)
        #expect(CrossEncoderActivation.identity.apply([1.5, -2]) == [1.5, -2])
        let s = CrossEncoderActivation.softmax.apply([1, 2, 3])
        #expect(abs(s.reduce(0, +) - 1) < 1e-6 && s[2] > s[1])
        #expect(CrossEncoderActivation(torchPath: "torch.nn.Sigmoid") == .sigmoid)
        #expect(CrossEncoderActivation(torchPath: "torch.nn.modules.activation.ReLU") == nil)
    }
}

import Foundation
import Testing
@testable import Tokenization

/// Every tokenizer against Hugging Face `tokenizers` and against transformers 5's `AutoTokenizer`
/// on 7,835 strings (scripts/golden/tokenizer_golden.py): 6,000 real texts in 38 scripts and edge
/// cases, then trailing, leading and repeated white space and newlines, then random code points
/// (1,000 below U+3000, 300 over all planes). Ids and offsets must match exactly.
@Suite struct TokenizerGoldenTests {
    static let strings: [String] = {
        (try? Fixtures.json("golden/strings.json")["strings"].array().map { try $0.string() }) ?? []
    }()

    static let fixtureTokenizers = ["bert-wordpiece", "xlmr-unigram", "qwen3-bpe", "all-minilm-l6-v2"]
    static let modes: [TokenizerMode] = [.tokenizersJSON, .transformers]

    @Test(arguments: fixtureTokenizers, modes)
    func singleSequences(name: String, mode: TokenizerMode) throws {
        try checkSingles(try Fixtures.tokenizer(name, mode: mode), golden: name, mode: mode)
    }

    @Test(arguments: fixtureTokenizers, modes)
    func pairs(name: String, mode: TokenizerMode) throws {
        try checkPairs(try Fixtures.tokenizer(name, mode: mode), golden: name, mode: mode)
    }

    @Test(arguments: fixtureTokenizers)
    func paddedBatches(name: String) throws {
        try checkBatch(try Fixtures.tokenizer(name), golden: name)
    }

    /// transformers 5 picks the class from tokenizer_config.json and rebuilds these three.
    @Test func transformersClasses() throws {
        let expected = ["bert-wordpiece": TransformersTokenizerClass.bert, "xlmr-unigram": .xlmRoberta, "qwen3-bpe": .qwen2,
                        "all-minilm-l6-v2": .bert]
        for (name, cls) in expected {
            let golden = try Fixtures.json("golden/\(name).json")["transformers"]["class"].string()
            #expect(golden == cls.rawValue)
            #expect(try Fixtures.tokenizer(name, mode: .transformers).transformersClass == cls)
            #expect(try Fixtures.tokenizer(name, mode: .tokenizersJSON).transformersClass == .backend)
        }
    }

    /// The original multilingual-e5-small folder (17 MB tokenizer.json, fetched, not committed):
    /// its tokenizer.json predates transformers 5, which rebuilds it (Precompiled only, then
    /// WhitespaceSplit + Metaspace), so the two modes differ on most strings.
    @Test(.enabled(if: Fixtures.modelFolder("multilingual-e5-small") != nil, "models/multilingual-e5-small is absent (run scripts/fetch_models.py)"),
          arguments: modes)
    func multilingualE5Original(mode: TokenizerMode) throws {
        let dir = try #require(Fixtures.modelFolder("multilingual-e5-small"))
        let tok = try Tokenizer(contentsOf: dir, mode: mode).with(truncation: nil, padding: nil)
        #expect(tok.transformersClass == (mode == .transformers ? .xlmRoberta : .backend))
        try checkSingles(tok, golden: "multilingual-e5-small", mode: mode)
        try checkPairs(tok, golden: "multilingual-e5-small", mode: mode)
        if mode == .tokenizersJSON { try checkBatch(tok, golden: "multilingual-e5-small") }
    }

    @Test(.enabled(if: Fixtures.modelFolder("all-MiniLM-L6-v2") != nil, "models/all-MiniLM-L6-v2 is absent (run scripts/fetch_models.py)"))
    func miniLMFolderIsRebuiltAsBert() throws {
        let dir = try #require(Fixtures.modelFolder("all-MiniLM-L6-v2"))
        let tok = try Tokenizer(contentsOf: dir).with(truncation: nil, padding: nil)
        #expect(tok.transformersClass == .bert)
        try checkSingles(tok, golden: "all-minilm-l6-v2", mode: .transformers)
    }

    /// Expected encodings in a mode: `tokenizers`' unless transformers' differ (stored by index).
    func expected(_ root: JSONNode, _ section: String, mode: TokenizerMode) throws -> [[JSONNode]] {
        var out = try root[section].array().map { try $0.array() }
        if mode == .transformers {
            for (key, node) in try root["transformers"][section].object() {
                guard let i = Int(key), i < out.count else { throw node.invalid("bad index") }
                out[i] = try node.array()
            }
        }
        return out
    }

    func checkSingles(_ tok: Tokenizer, golden: String, mode: TokenizerMode) throws {
        let strings = Self.strings
        #expect(strings.count >= 7800)
        let expected = try expected(try Fixtures.json("golden/\(golden).json"), "single", mode: mode)
        #expect(expected.count == strings.count)
        var mismatches = [String]()
        var bySection = [0, 0, 0]
        for (k, (s, parts)) in zip(strings, expected).enumerated() {
            let e = try tok.encode(s)
            let ids = try parts[0].ints(), offsets = try parts[1].ints()
            if e.ids != ids || e.flatOffsets != offsets {
                bySection[k < 6000 ? 0 : (k < strings.count - 1300 ? 1 : 2)] += 1
                mismatches.append("#\(k) \(s.debugDescription.prefix(60)): ids \(e.ids.prefix(10)) vs \(ids.prefix(10)), offsets \(e.flatOffsets.prefix(10)) vs \(offsets.prefix(10))")
            }
        }
        #expect(mismatches.isEmpty, "\(golden) (\(mode)): \(mismatches.count) of \(strings.count) differ (texts \(bySection[0]), white space \(bySection[1]), random code points \(bySection[2])); first: \(mismatches.prefix(5).joined(separator: "\n"))")
    }

    func checkPairs(_ tok: Tokenizer, golden: String, mode: TokenizerMode) throws {
        let strings = Self.strings
        let pairIndices = Array(stride(from: 0, to: 400, by: 2)) + Array(stride(from: 6000, to: 6400, by: 2))
        let expected = try expected(try Fixtures.json("golden/\(golden).json"), "pairs", mode: mode)
        #expect(expected.count == pairIndices.count)
        var bad = [String]()
        for (k, (i, p)) in zip(pairIndices, expected).enumerated() {
            let e = try tok.encode(strings[i], pair: strings[i + 1])
            let ids = try p[0].ints(), types = try p[1].ints(), offsets = try p[2].ints()
            if e.ids != ids || e.typeIds != types || e.flatOffsets != offsets {
                bad.append("pair \(k): \(strings[i].debugDescription.prefix(40)) + \(strings[i + 1].debugDescription.prefix(40))")
            }
        }
        #expect(bad.isEmpty, "\(golden) (\(mode)): \(bad.count) pairs differ; first: \(bad.prefix(5).joined(separator: "\n"))")
    }

    func checkBatch(_ tok: Tokenizer, golden: String) throws {
        let strings = Self.strings
        let root = try Fixtures.json("golden/\(golden).json")
        let padId = tok.id(of: "[PAD]") ?? tok.id(of: "<pad>") ?? 0
        let padToken = tok.id(of: "[PAD]") != nil ? "[PAD]" : "<pad>"
        let batch = try tok.encodeBatch(
            Array(strings.prefix(200)), truncation: TruncationParams(maxLength: try root["batch"]["max_length"].int()),
            padding: PaddingParams(padId: padId, padToken: padToken))
        for (k, (e, exp)) in zip(batch, try root["batch"]["encodings"].array()).enumerated() {
            let p = try exp.array()
            #expect(e.ids == (try p[0].ints()), "batch \(k) ids")
            #expect(e.typeIds == (try p[1].ints()), "batch \(k) type ids")
            #expect(e.attentionMask == (try p[2].ints()), "batch \(k) attention mask")
            #expect(e.flatOffsets == (try p[3].ints()), "batch \(k) offsets")
        }
    }
}

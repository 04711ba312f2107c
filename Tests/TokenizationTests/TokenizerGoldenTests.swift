import Foundation
import Testing
@testable import Tokenization

/// Every tokenizer against Hugging Face `tokenizers` on 6,000 strings in 38 scripts
/// (scripts/golden/tokenizer_golden.py): ids and offsets must match exactly.
@Suite struct TokenizerGoldenTests {
    static let strings: [String] = {
        (try? Fixtures.json("golden/strings.json")["strings"].array().map { try $0.string() }) ?? []
    }()

    static let fixtureTokenizers = ["bert-wordpiece", "xlmr-unigram", "qwen3-bpe", "all-minilm-l6-v2"]

    @Test(arguments: fixtureTokenizers)
    func singleSequences(name: String) throws {
        try checkSingles(try Fixtures.tokenizer(name), golden: name)
    }

    @Test(arguments: fixtureTokenizers)
    func pairsAndPaddedBatches(name: String) throws {
        try checkPairsAndBatch(try Fixtures.tokenizer(name), golden: name)
    }

    /// The original multilingual-e5-small tokenizer.json (17 MB) is fetched, not committed.
    @Test(.enabled(if: Fixtures.modelFolder("multilingual-e5-small") != nil, "models/multilingual-e5-small is absent (run scripts/fetch_models.py)"))
    func multilingualE5Original() throws {
        let dir = try #require(Fixtures.modelFolder("multilingual-e5-small"))
        let tok = try Tokenizer(contentsOf: dir).with(truncation: nil, padding: nil)
        try checkSingles(tok, golden: "multilingual-e5-small")
        try checkPairsAndBatch(tok, golden: "multilingual-e5-small")
    }

    func checkSingles(_ tok: Tokenizer, golden: String) throws {
        let strings = Self.strings
        #expect(strings.count >= 5000)
        let expected = try Fixtures.json("golden/\(golden).json")["single"].array()
        #expect(expected.count == strings.count)
        var mismatches = [String]()
        for (s, exp) in zip(strings, expected) {
            let e = try tok.encode(s)
            let parts = try exp.array()
            let ids = try parts[0].ints(), offsets = try parts[1].ints()
            if e.ids != ids || e.flatOffsets != offsets {
                mismatches.append("\(s.debugDescription.prefix(80)): ids \(e.ids.prefix(12)) vs \(ids.prefix(12)), offsets \(e.flatOffsets.prefix(12)) vs \(offsets.prefix(12))")
            }
        }
        #expect(mismatches.isEmpty, "\(golden): \(mismatches.count) of \(strings.count) differ; first: \(mismatches.prefix(5).joined(separator: "\n"))")
    }

    func checkPairsAndBatch(_ tok: Tokenizer, golden: String) throws {
        let strings = Self.strings
        let root = try Fixtures.json("golden/\(golden).json")
        for (k, exp) in try root["pairs"].array().enumerated() {
            let e = try tok.encode(strings[2 * k], pair: strings[2 * k + 1])
            let p = try exp.array()
            #expect(e.ids == (try p[0].ints()), "pair \(k) ids")
            #expect(e.typeIds == (try p[1].ints()), "pair \(k) type ids")
            #expect(e.flatOffsets == (try p[2].ints()), "pair \(k) offsets")
        }
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

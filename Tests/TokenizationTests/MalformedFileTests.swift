import Foundation
import Testing
@testable import Tokenization

/// Unknown component types and malformed files: a clear error naming the component and the
/// JSON path, never a crash.
@Suite struct MalformedFileTests {
    static let minimal = #"{"model": {"type": "WordLevel", "vocab": {"a": 0, "[UNK]": 1}, "unk_token": "[UNK]"}}"#

    func load(_ json: String) throws -> Tokenizer { try Tokenizer(json: Array(json.utf8)) }

    func expectError(_ json: String, path: String, code: TokenizerError.Code, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try load(json)
            Issue.record("expected an error for \(json.prefix(80))", sourceLocation: sourceLocation)
        } catch let e as TokenizerError {
            #expect(e.path == path, "path \(e.path) for \(json.prefix(80))", sourceLocation: sourceLocation)
            #expect(e.code == code, "code \(e.code) for \(json.prefix(80))", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func minimalFileLoads() throws {
        let t = try load(Self.minimal)
        #expect(try t.encode("a").ids == [0])
        #expect(try t.encode("a b").ids == [1])  // no pre-tokenizer: one piece, unknown
    }

    @Test func unknownTypesNameTheirComponent() {
        let model = #""model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}"#
        expectError(#"{"normalizer": {"type": "Sparkle"}, \#(model)}"#, path: "normalizer.type", code: .unknownType)
        expectError(#"{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Nope"}]}, \#(model)}"#,
                    path: "pre_tokenizer.pretokenizers[1].type", code: .unknownType)
        expectError(#"{"post_processor": {"type": "Mystery"}, \#(model)}"#, path: "post_processor.type", code: .unknownType)
        expectError(#"{"decoder": {"type": "Mystery"}, \#(model)}"#, path: "decoder.type", code: .unknownType)
        expectError(#"{"model": {"type": "SentencePieceBPE2", "vocab": {}}}"#, path: "model.type", code: .unknownType)
    }

    @Test func malformedComponents() {
        expectError(#"{"model": {"type": "WordPiece", "vocab": [1, 2]}}"#, path: "model.vocab", code: .invalidValue)
        expectError(#"{"model": {"type": "Unigram", "vocab": [["a", "x"]]}}"#, path: "model.vocab[0]", code: .invalidValue)
        expectError(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, path: "model.merges[0]", code: .invalidValue)
        expectError(#"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "%%%"}, "model": {"type": "WordLevel", "vocab": {}}}"#,
                    path: "normalizer.precompiled_charsmap", code: .invalidValue)
        expectError(#"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "model": {"type": "WordLevel", "vocab": {}}}"#,
                    path: "pre_tokenizer.pattern.Regex", code: .invalidValue)
        expectError(#"{"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}, "model": {"type": "WordLevel", "vocab": {}}}"#,
                    path: "pre_tokenizer.behavior", code: .invalidValue)
        expectError(#"{"added_tokens": [{"content": "<x>"}], "model": {"type": "WordLevel", "vocab": {}}}"#,
                    path: "added_tokens[0].id", code: .missingField)
        expectError(#"{"model": null}"#, path: "model", code: .invalidValue)
        expectError(#"[1, 2]"#, path: "", code: .invalidValue)
    }

    @Test func brokenJSONAndMissingFiles() {
        #expect(throws: TokenizerError.self) { try load(#"{"model": {"type": "#) }
        #expect(throws: TokenizerError.self) { try load("") }
        do {
            _ = try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))
            Issue.record("expected an error")
        } catch let e as TokenizerError {
            #expect(e.code == .unreadableFile && e.path.contains("/nonexistent/tokenizer.json"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// Arbitrary input text never crashes any of the real tokenizers.
    @Test(arguments: ["bert-wordpiece", "xlmr-unigram", "qwen3-bpe"])
    func hostileInputs(name: String) throws {
        let tok = try Fixtures.tokenizer(name)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let n = Int.random(in: 0..<40, using: &rng)
            var s = String.UnicodeScalarView()
            for _ in 0..<n {
                let v = UInt32.random(in: 0..<0x30000, using: &rng)
                if let u = Unicode.Scalar(v) { s.append(u) }
            }
            let e = try tok.encode(String(s))
            #expect(e.ids.count == e.offsets.count)
        }
    }
}

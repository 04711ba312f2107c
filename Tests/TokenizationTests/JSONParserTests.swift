import Testing
@testable import Tokenization

@Suite struct JSONParserTests {
    @Test func parsesNestedValues() throws {
        let v = try JSONParser.parse(#"{"a": [1, 2.5, -3e2, true, false, null], "b": "x\u00e9\ud83d\ude00\n"}"#)
        #expect(v == .object(JSONObject([("a", .array([.number(1), .number(2.5), .number(-300), .bool(true), .bool(false), .null])),
                                         ("b", .string("xé😀\n"))])))
    }

    @Test func rejectsMalformedInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "1 2", "[\"\u{01}\"]"] {
            #expect(throws: TokenizerError.self) { try JSONParser.parse(bad) }
        }
    }

    @Test func keepsCanonicallyEquivalentKeysApart() throws {
        guard case .object(let o) = try JSONParser.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}") else {
            Issue.record("not an object")
            return
        }
        #expect(o.entries.count == 2)
        #expect(o["\u{E9}"] == .number(1))
        #expect(o["e\u{301}"] == .number(2))
    }

    @Test func errorsNameThePath() throws {
        let node = JSONNode(try JSONParser.parse(#"{"model": {"vocab": 3}}"#))
        do {
            _ = try node["model"]["vocab"].array()
            Issue.record("expected an error")
        } catch let e as TokenizerError {
            #expect(e.path == "model.vocab")
            #expect(e.code == .invalidValue)
        }
    }
}

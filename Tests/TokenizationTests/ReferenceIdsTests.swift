import Testing
@testable import Tokenization

/// The input ids sentence-transformers fed its models for the reference embeddings: prompt +
/// text, truncated to max_seq_length with the special tokens kept.
@Suite struct ReferenceIdsTests {
    @Test(arguments: ["bert-wordpiece", "xlmr-unigram", "qwen3-bpe"])
    func matchesSentenceTransformers(name: String) throws {
        let ref = try Fixtures.json("reference-ids.json")[name]
        let tok = try Fixtures.tokenizer(name)
        let maxLength = try ref["max_seq_length"].int()
        for c in try ref["cases"].array() {
            let prompt = try c["prompt_name"].stringIfPresent().flatMap { try ref["prompts"][$0].stringIfPresent() } ?? ""
            let text = prompt + (try c["text"].string())
            let e = try tok.encodeBatch([text], truncation: TruncationParams(maxLength: maxLength), padding: nil)[0]
            let ids = zip(e.ids, e.attentionMask).filter { $0.1 == 1 }.map(\.0)
            #expect(ids == (try c["input_ids"].ints()), "\(name): \(text.prefix(60).debugDescription)")
        }
    }
}

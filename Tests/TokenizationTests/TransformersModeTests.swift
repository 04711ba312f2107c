import Foundation
import Testing
@testable import Tokenization

/// How transformers 5 picks and builds a tokenizer from a folder's configuration (ids from
/// `AutoTokenizer` on the fixture files with these tokenizer_config.json contents).
@Suite struct TransformersModeTests {
    func configuration(_ tokenizerConfig: String?, modelType: String? = nil) throws -> TransformersConfiguration {
        try TransformersConfiguration(tokenizerConfig: tokenizerConfig.map { Array($0.utf8) },
                                      config: modelType.map { Array("{\"model_type\": \"\($0)\"}".utf8) })
    }

    @Test func classResolution() throws {
        // The hub class wins over the model type's (multilingual-e5-small is a "bert" model with an XLM-R tokenizer)…
        #expect(try configuration(#"{"tokenizer_class": "XLMRobertaTokenizerFast"}"#, modelType: "bert").tokenizerClass == .xlmRoberta)
        #expect(try configuration(#"{"tokenizer_class": "TokenizersBackend"}"#, modelType: "qwen3").tokenizerClass == .backend)
        // …except for model types whose hub class transformers distrusts.
        #expect(try configuration(#"{"tokenizer_class": "LlamaTokenizer"}"#, modelType: "qwen2").tokenizerClass == .qwen2)
        #expect(try configuration(nil, modelType: "bert").tokenizerClass == .bert)
        #expect(try configuration(nil, modelType: "qwen3").tokenizerClass == .qwen2)
        #expect(try configuration(#"{"tokenizer_class": "MPNetTokenizer"}"#).tokenizerClass == .backend)
        #expect(try configuration(nil).tokenizerClass == .backend)
    }

    @Test func xlmRobertaWithoutPrefixSpace() throws {
        let conf = try configuration(#"{"tokenizer_class": "XLMRobertaTokenizer", "add_prefix_space": false}"#)
        let tok = try Tokenizer(contentsOf: Fixtures.url("xlmr-unigram.tokenizer.json"), configuration: conf)
        #expect(try tok.encode("a b  c\n").ids == [0, 11, 275, 238, 2])
        #expect(try tok.encode("a b", pair: "c").ids == [0, 11, 275, 2, 2, 238, 2])
    }

    @Test func bertOptionsComeFromTheConfig() throws {
        let conf = try configuration(#"{"tokenizer_class": "BertTokenizerFast", "do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false}"#)
        // The fixture's tokenizer.json pads to 128 (transformers keeps padding): compare unpadded.
        let tok = try Tokenizer(contentsOf: Fixtures.url("bert-wordpiece.tokenizer.json"), configuration: conf).with(truncation: nil, padding: nil)
        #expect(try tok.encode("Héllo 中文 World").ids == [101, 100, 1746, 30387, 100, 102])
        let raw = try Tokenizer(contentsOf: Fixtures.url("bert-wordpiece.tokenizer.json"), mode: .tokenizersJSON, configuration: conf)
        #expect(raw.transformersClass == .backend)
        #expect(try raw.encode("Héllo").ids != [101, 100, 102])
    }
}

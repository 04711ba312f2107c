import Foundation

/// Whose tokenization to reproduce.
///
/// `transformers` (the default) matches transformers 5's `AutoTokenizer`, which sentence-transformers,
/// vLLM and SGLang load: for the tokenizer classes that define their own pipeline (`BertTokenizer`,
/// `XLMRobertaTokenizer`, `Qwen2Tokenizer`) transformers 5 keeps only the vocabulary (and merges)
/// of `tokenizer.json` and builds the normalizer, pre-tokenizer, model options, post-processor and
/// decoder from the class and `tokenizer_config.json`. `tokenizersJSON` runs `tokenizer.json` as
/// it is, as Hugging Face `tokenizers` (`Tokenizer.from_file`) does.
public enum TokenizerMode: String, Sendable, CaseIterable {
    case transformers
    case tokenizersJSON = "tokenizers"
}

/// The tokenizer classes whose pipeline transformers 5 rebuilds (`models/*/tokenization_*.py`),
/// and `TokenizersBackend` for every other class, which loads `tokenizer.json` unchanged.
public enum TransformersTokenizerClass: String, Sendable {
    case bert = "BertTokenizer"
    case xlmRoberta = "XLMRobertaTokenizer"
    case qwen2 = "Qwen2Tokenizer"
    case backend = "TokenizersBackend"

    /// `TOKENIZER_MAPPING_NAMES` in `models/auto/tokenization_auto.py`, for the model types Nestor runs.
    static func registered(modelType: String) -> TransformersTokenizerClass? {
        switch modelType {
        case "bert": return .bert
        case "xlm-roberta": return .xlmRoberta
        case "qwen2", "qwen3": return .qwen2
        default: return nil
        }
    }

    /// `tokenizer_class_from_name`, with the v4 `…Fast` names accepted; nil for classes Nestor
    /// does not rebuild (they load `tokenizer.json` as it is).
    static func named(_ name: String) -> TransformersTokenizerClass? {
        let base = name.hasSuffix("Fast") ? String(name.dropLast(4)) : name
        return TransformersTokenizerClass(rawValue: base)
    }
}

/// What `AutoTokenizer.from_pretrained` reads besides `tokenizer.json`: `tokenizer_config.json`,
/// the model type in `config.json`, and `special_tokens_map.json`.
public struct TransformersConfiguration: Sendable {
    public let tokenizerConfig: JSONValue
    public let modelType: String?
    public let specialTokensMap: JSONValue
    /// `config.json`'s own `tokenizer_class`, consulted when `tokenizer_config.json` names none.
    public let configTokenizerClass: String?

    public init(tokenizerConfig: [UInt8]?, config: [UInt8]? = nil, specialTokensMap: [UInt8]? = nil) throws {
        self.tokenizerConfig = try tokenizerConfig.map { try JSONParser.parse($0) } ?? .null
        let cfg = try config.map { JSONNode(try JSONParser.parse($0)) }
        modelType = try cfg?["model_type"].stringIfPresent()
        configTokenizerClass = try cfg?["tokenizer_class"].stringIfPresent()
        self.specialTokensMap = try specialTokensMap.map { try JSONParser.parse($0) } ?? .null
    }

    /// Reads the three files from a model folder; a missing file counts as absent.
    public init(folder: URL) throws {
        func read(_ name: String) -> [UInt8]? {
            FileManager.default.contents(atPath: folder.appendingPathComponent(name).path).map { [UInt8]($0) }
        }
        try self.init(tokenizerConfig: read("tokenizer_config.json"), config: read("config.json"),
                      specialTokensMap: read("special_tokens_map.json"))
    }

    var config: JSONNode { JSONNode(tokenizerConfig, path: "tokenizer_config.json") }

    /// The class `AutoTokenizer` instantiates (`AutoTokenizer.from_pretrained`): the hub's
    /// `tokenizer_class` unless the model type is one whose hub class transformers overrides
    /// (`MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS`, which holds `qwen2`), else the model type's
    /// registered class.
    public var tokenizerClass: TransformersTokenizerClass {
        let hub = (try? config["tokenizer_class"].stringIfPresent()) ?? configTokenizerClass
        let registered = modelType.flatMap(TransformersTokenizerClass.registered(modelType:))
        if let hub {
            if let registered, modelType == "qwen2", TransformersTokenizerClass.named(hub) != registered { return registered }
            return TransformersTokenizerClass.named(hub) ?? .backend
        }
        return registered ?? .backend
    }
}

/// Rewrites a parsed `tokenizer.json` into the pipeline transformers 5 builds for `cls`.
enum TransformersRebuild {
    static func rebuild(_ root: JSONNode, as cls: TransformersTokenizerClass, configuration conf: TransformersConfiguration) throws -> JSONNode {
        guard cls != .backend, case .object(var out) = root.value else { return root }
        let cfg = conf.config
        let model = root["model"]
        let addedTokens = try self.addedTokens(root, cls: cls, conf: conf)
        func set(_ key: String, _ value: JSONValue) {
            out.entries.removeAll { $0.key == key }
            out.entries.append((key, value))
        }
        func idOf(_ token: String) throws -> Int? {
            for t in addedTokens { if case .object(let o) = t, o["content"] == .string(token), case .number(let d)? = o["id"] { return Int(d) } }
            return try vocabularyId(of: token, in: model)
        }
        switch cls {
        case .bert:
            // models/bert/tokenization_bert.py, BertTokenizer.__init__
            let unk = try namedToken("unk_token", cls: cls, conf: conf) ?? "[UNK]"
            let cls_ = try namedToken("cls_token", cls: cls, conf: conf) ?? "[CLS]"
            let sep = try namedToken("sep_token", cls: cls, conf: conf) ?? "[SEP]"
            set("normalizer", obj([
                ("type", .string("BertNormalizer")), ("clean_text", .bool(true)),
                ("handle_chinese_chars", .bool(try cfg["tokenize_chinese_chars"].boolIfPresent() ?? true)),
                ("strip_accents", try cfg["strip_accents"].boolIfPresent().map(JSONValue.bool) ?? .null),
                ("lowercase", .bool(try cfg["do_lower_case"].boolIfPresent() ?? true)),
            ]))
            set("pre_tokenizer", obj([("type", .string("BertPreTokenizer"))]))
            set("model", obj([
                ("type", .string("WordPiece")), ("unk_token", .string(unk)), ("continuing_subword_prefix", .string("##")),
                ("max_input_chars_per_word", .number(100)), ("vocab", try wordPieceVocabulary(model)),
            ]))
            let clsId = try idOf(cls_) ?? 2, sepId = try idOf(sep) ?? 3
            set("post_processor", template(
                single: [(cls_, nil, 0), (nil, "A", 0), (sep, nil, 0)],
                pair: [(cls_, nil, 0), (nil, "A", 0), (sep, nil, 0), (nil, "B", 1), (sep, nil, 1)],
                specials: [(cls_, clsId), (sep, sepId)]))
            set("decoder", obj([("type", .string("WordPiece")), ("prefix", .string("##")), ("cleanup", .bool(true))]))
        case .xlmRoberta:
            // models/xlm_roberta/tokenization_xlm_roberta.py, XLMRobertaTokenizer.__init__
            let bos = try namedToken("bos_token", cls: cls, conf: conf) ?? "<s>"
            let eos = try namedToken("eos_token", cls: cls, conf: conf) ?? "</s>"
            let prefix = try cfg["add_prefix_space"].boolIfPresent() ?? true
            let scheme: JSONValue = .string(prefix ? "always" : "never")
            if let charsmap = try precompiledCharsmap(root["normalizer"]) {
                set("normalizer", obj([("type", .string("Precompiled")), ("precompiled_charsmap", charsmap)]))
            } else {
                set("normalizer", .null)
            }
            let metaspace = obj([("type", .string("Metaspace")), ("replacement", .string("\u{2581}")),
                                 ("prepend_scheme", scheme), ("split", .bool(true))])
            set("pre_tokenizer", obj([("type", .string("Sequence")), ("pretokenizers", .array([
                obj([("type", .string("WhitespaceSplit"))]), metaspace,
            ]))]))
            guard model["vocab"].exists else { throw model["vocab"].fail(.missingField, "missing the Unigram vocabulary") }
            set("model", obj([("type", .string("Unigram")), ("unk_id", .number(3)), ("byte_fallback", .bool(false)),
                              ("vocab", model["vocab"].value)]))
            let bosId = try idOf(bos), eosId = try idOf(eos)
            if let bosId, let eosId {
                set("post_processor", template(
                    single: [(bos, nil, 0), (nil, "A", 0), (eos, nil, 0)],
                    pair: [(bos, nil, 0), (nil, "A", 0), (eos, nil, 0), (eos, nil, 0), (nil, "B", 0), (eos, nil, 0)],
                    specials: [(bos, bosId), (eos, eosId)]))
            }
            set("decoder", metaspace)
        case .qwen2:
            // models/qwen2/tokenization_qwen2.py, Qwen2Tokenizer.__init__; the post-processor stays
            // the file's (TokenizersBackend.convert_to_native_format passes it through).
            let prefix = try cfg["add_prefix_space"].boolIfPresent() ?? false
            set("normalizer", obj([("type", .string("NFC"))]))
            set("pre_tokenizer", obj([("type", .string("Sequence")), ("pretokenizers", .array([
                obj([("type", .string("Split")), ("pattern", obj([("Regex", .string(FastSplitPattern.qwen2Source))])),
                     ("behavior", .string("Isolated")), ("invert", .bool(false))]),
                obj([("type", .string("ByteLevel")), ("add_prefix_space", .bool(prefix)), ("trim_offsets", .bool(true)),
                     ("use_regex", .bool(false))]),
            ]))]))
            guard model["vocab"].exists else { throw model["vocab"].fail(.missingField, "missing the BPE vocabulary") }
            set("model", obj([
                ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .string("")),
                ("end_of_word_suffix", .string("")), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
                ("ignore_merges", .bool(false)), ("vocab", model["vocab"].value), ("merges", model["merges"].value),
            ]))
            set("decoder", obj([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                                ("use_regex", .bool(true))]))
        case .backend:
            break
        }
        set("added_tokens", .array(addedTokens))
        return JSONNode(.object(out))
    }

    // MARK: added and special tokens

    /// The class's default for each named special token (its `__init__` signature).
    private static func defaultToken(_ key: String, cls: TransformersTokenizerClass) -> String? {
        switch cls {
        case .bert: return ["unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"][key]
        case .xlmRoberta:
            return ["bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
                    "pad_token": "<pad>", "mask_token": "<mask>"][key]
        case .qwen2: return ["unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"][key]
        case .backend: return nil
        }
    }

    static let namedKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// A named special token as `PreTrainedTokenizerBase._from_pretrained` resolves it: the
    /// config's value (an explicit null means none), else special_tokens_map.json's when the config
    /// has no `added_tokens_decoder`, else the class default.
    private static func namedTokenNode(_ key: String, cls: TransformersTokenizerClass, conf: TransformersConfiguration) -> JSONValue? {
        var hasDecoder = false
        if case .object(let o) = conf.tokenizerConfig {
            if let v = o[key] { return v }
            hasDecoder = o["added_tokens_decoder"] != nil
        }
        if !hasDecoder, case .object(let m) = conf.specialTokensMap, let v = m[key] { return v }
        return defaultToken(key, cls: cls).map(JSONValue.string)
    }

    static func namedToken(_ key: String, cls: TransformersTokenizerClass, conf: TransformersConfiguration) throws -> String? {
        guard let v = namedTokenNode(key, cls: cls, conf: conf) else { return nil }
        switch v {
        case .string(let s): return s
        case .object(let o): if case .string(let s)? = o["content"] { return s } else { return nil }
        default: return nil
        }
    }

    /// The added-token list of the rebuilt tokenizer: the config's `added_tokens_decoder` (or
    /// tokenizer.json's `added_tokens` without one), then each named or extra special token that
    /// is not among them yet (`TokenizersBackend.__init__`), with the vocabulary's id or a new one.
    private static func addedTokens(_ root: JSONNode, cls: TransformersTokenizerClass, conf: TransformersConfiguration) throws -> [JSONValue] {
        var list = [JSONValue]()
        let cfg = conf.config
        if cfg["added_tokens_decoder"].exists {
            for (key, node) in try cfg["added_tokens_decoder"].object() {
                guard let id = Int(key) else { throw node.invalid("added_tokens_decoder keys must be token ids") }
                guard case .object(var o) = node.value else { throw node.invalid("expected an added token object") }
                o.entries.removeAll { $0.key == "id" || $0.key == "__type" }
                o.entries.insert(("id", .number(Double(id))), at: 0)
                list.append(.object(o))
            }
            list.sort { idValue($0) < idValue($1) }
        } else if root["added_tokens"].exists {
            list = try root["added_tokens"].array().map(\.value)
        }
        var contents = Set(list.compactMap { v -> String? in
            if case .object(let o) = v, case .string(let s)? = o["content"] { return s }
            return nil
        })
        var extra = [JSONValue]()
        for key in namedKeys { if let v = namedTokenNode(key, cls: cls, conf: conf), v != .null { extra.append(v) } }
        for key in ["extra_special_tokens", "additional_special_tokens"] {
            if case .array(let a) = cfg[key].value { extra += a; break }
        }
        if case .object(let m) = conf.specialTokensMap, case .array(let a)? = m["additional_special_tokens"] { extra += a }
        var nextId = max(try vocabularySize(root["model"]), (list.map(idValue).max() ?? -1) + 1)
        for v in extra {
            var content: String, flags: [(String, JSONValue)] = []
            switch v {
            case .string(let s): content = s
            case .object(let o):
                guard case .string(let s)? = o["content"] else { continue }
                content = s
                for k in ["single_word", "lstrip", "rstrip", "normalized"] { if let f = o[k] { flags.append((k, f)) } }
            default: continue
            }
            guard !contents.contains(content) else { continue }
            contents.insert(content)
            let id: Int
            if let known = try vocabularyId(of: content, in: root["model"]) { id = known } else { id = nextId; nextId += 1 }
            var entries: [(key: String, value: JSONValue)] = [("id", .number(Double(id))), ("content", .string(content)),
                                                            ("single_word", .bool(false)), ("lstrip", .bool(false)),
                                                            ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true))]
            for (k, f) in flags { if let i = entries.firstIndex(where: { $0.key == k }) { entries[i].value = f } }
            list.append(.object(JSONObject(entries)))
        }
        return list
    }

    private static func idValue(_ v: JSONValue) -> Int {
        if case .object(let o) = v, case .number(let d)? = o["id"] { return Int(d) }
        return Int.max
    }

    // MARK: helpers

    private static func obj(_ entries: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(entries.map { (key: $0.0, value: $0.1) }))
    }

    /// A `TemplateProcessing` node: each piece is a special token or a sequence (`A`/`B`) with a type id.
    private static func template(single: [(String?, String?, Int)], pair: [(String?, String?, Int)], specials: [(String, Int)]) -> JSONValue {
        func pieces(_ p: [(String?, String?, Int)]) -> JSONValue {
            .array(p.map { special, seq, type in
                if let special { return obj([("SpecialToken", obj([("id", .string(special)), ("type_id", .number(Double(type)))]))]) }
                return obj([("Sequence", obj([("id", .string(seq ?? "A")), ("type_id", .number(Double(type)))]))])
            })
        }
        var seen = Set<String>()
        let table = specials.filter { seen.insert($0.0).inserted }.map { name, id in
            (name, obj([("id", .string(name)), ("ids", .array([.number(Double(id))])), ("tokens", .array([.string(name)]))]))
        }
        return obj([("type", .string("TemplateProcessing")), ("single", pieces(single)), ("pair", pieces(pair)),
                    ("special_tokens", obj(table))])
    }

    /// The first `Precompiled` normalizer's charsmap, looking inside a `Sequence`
    /// (`TokenizersBackend.convert_to_native_format`).
    private static func precompiledCharsmap(_ node: JSONNode) throws -> JSONValue? {
        if node.isNull { return nil }
        let steps = try node["type"].stringIfPresent() == "Sequence" ? try node["normalizers"].array() : [node]
        for s in steps where try s["type"].stringIfPresent() == "Precompiled" && s["precompiled_charsmap"].exists {
            return s["precompiled_charsmap"].value
        }
        return nil
    }

    /// A WordPiece vocabulary as an object (a list of tokens becomes token → index).
    private static func wordPieceVocabulary(_ model: JSONNode) throws -> JSONValue {
        switch model["vocab"].value {
        case .object: return model["vocab"].value
        case .array(let a):
            return .object(JSONObject(try a.enumerated().map { i, v in
                if case .string(let s) = v { return (key: s, value: .number(Double(i))) }
                if case .array(let pair) = v, case .string(let s)? = pair.first { return (key: s, value: .number(Double(i))) }
                throw model["vocab"].invalid("a vocabulary list must hold tokens")
            }))
        default: throw model["vocab"].fail(.missingField, "missing the WordPiece vocabulary")
        }
    }

    private static func vocabularyId(of token: String, in model: JSONNode) throws -> Int? {
        switch model["vocab"].value {
        case .object(let o):
            if case .number(let d)? = o[token] { return Int(d) }
            return nil
        case .array(let a):
            for (i, v) in a.enumerated() {
                if case .array(let pair) = v, case .string(let s)? = pair.first, s.utf8.elementsEqual(token.utf8) { return i }
                if case .string(let s) = v, s.utf8.elementsEqual(token.utf8) { return i }
            }
            return nil
        default: return nil
        }
    }

    private static func vocabularySize(_ model: JSONNode) throws -> Int {
        switch model["vocab"].value {
        case .object(let o): return o.entries.count
        case .array(let a): return a.count
        default: return 0
        }
    }
}

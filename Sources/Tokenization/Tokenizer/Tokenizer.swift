import Foundation

/// A Hugging Face `tokenizer.json`, loaded once and immutable afterwards, so one instance can be
/// shared by every thread. `encode` reproduces `tokenizers.Tokenizer.encode` exactly: ids, type
/// ids, attention mask, and offsets in Unicode scalars (Python's character offsets).
public struct Tokenizer: Sendable {
    public let normalizer: (any Normalizer)?
    public let preTokenizer: (any PreTokenizer)?
    public let model: any TokenizationModel
    public let postProcessor: (any PostProcessor)?
    public let decoder: (any Decoder)?
    public private(set) var truncation: TruncationParams?
    public private(set) var padding: PaddingParams?
    let added: AddedVocabulary
    private let addedById: [Int: AddedToken]
    private let addedByContent: [ExactString: Int]

    /// The class whose pipeline this tokenizer reproduces (`TokenizersBackend` when it runs
    /// `tokenizer.json` as it is).
    public let transformersClass: TransformersTokenizerClass

    /// Loads `tokenizer.json` from a file, or from a model folder that contains one. In
    /// `.transformers` mode (the default) the folder's `tokenizer_config.json`, `config.json` and
    /// `special_tokens_map.json` decide the pipeline, as in transformers 5's `AutoTokenizer`; a
    /// file named other than `tokenizer.json` has no such neighbours unless `configuration` is
    /// given, and so runs as it is.
    public init(contentsOf url: URL, mode: TokenizerMode = .transformers, configuration: TransformersConfiguration? = nil) throws {
        var file = url
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            file = url.appendingPathComponent("tokenizer.json")
        }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw TokenizerError(.unreadableFile, path: file.path, "cannot read the file")
        }
        do {
            var conf = configuration
            if mode == .transformers, conf == nil, file.lastPathComponent == "tokenizer.json" {
                conf = try TransformersConfiguration(folder: file.deletingLastPathComponent())
            }
            try self.init(json: [UInt8](data), transformers: mode == .transformers ? conf : nil)
        } catch var e as TokenizerError {
            e.message += " (in \(file.path))"
            throw e
        }
    }

    /// A tokenizer from the bytes of `tokenizer.json`: as the file says, or, given the rest of
    /// a model folder's configuration, as transformers 5 rebuilds it.
    public init(json bytes: [UInt8], transformers configuration: TransformersConfiguration? = nil) throws {
        var root = JSONNode(try JSONParser.parse(bytes))
        guard case .object = root.value else { throw root.invalid("tokenizer.json must hold a JSON object") }
        let cls = configuration?.tokenizerClass ?? .backend
        if let configuration, cls != .backend {
            root = try TransformersRebuild.rebuild(root, as: cls, configuration: configuration)
        }
        transformersClass = cls
        normalizer = try NormalizerFactory.make(root["normalizer"])
        preTokenizer = try PreTokenizerFactory.make(root["pre_tokenizer"])
        model = try ModelFactory.make(root["model"])
        postProcessor = try PostProcessorFactory.make(root["post_processor"])
        decoder = try DecoderFactory.make(root["decoder"])
        truncation = try TruncationParams(json: root["truncation"])
        padding = try PaddingParams(json: root["padding"])
        let addedTokens = try root["added_tokens"].isNull ? [] : root["added_tokens"].array().map { try AddedToken(json: $0) }
        added = try AddedVocabulary(tokens: addedTokens, normalizer: normalizer)
        var byId = [Int: AddedToken](), byContent = [ExactString: Int]()
        for t in addedTokens {
            byId[t.id] = t
            byContent[ExactString(t.content)] = t.id
        }
        addedById = byId
        addedByContent = byContent
    }

    /// A copy with other truncation and padding settings (Python's `enable_truncation`,
    /// `no_padding`, …); nil turns either off.
    public func with(truncation: TruncationParams?, padding: PaddingParams?) -> Tokenizer {
        var t = self
        t.truncation = truncation
        t.padding = padding
        return t
    }

    /// Model vocabulary plus added tokens that are not already in it.
    public var vocabularySize: Int {
        model.vocabularySize + addedById.keys.filter { model.token(of: $0) == nil }.count
    }

    public func id(of token: String) -> Int? { addedByContent[ExactString(token)] ?? model.id(of: token) }
    public func token(of id: Int) -> String? { addedById[id]?.content ?? model.token(of: id) }
    public func isSpecial(_ id: Int) -> Bool { addedById[id]?.special ?? false }

    /// Tokens the post-processor adds around one sequence (or a pair).
    public func specialTokenCount(isPair: Bool = false) -> Int { postProcessor?.addedTokens(isPair: isPair) ?? 0 }

    /// Encodes one text (or a pair), then truncates (tokenizer.json's settings unless
    /// `truncation` is given) and pads as configured.
    public func encode(
        _ text: String, pair: String? = nil, addSpecialTokens: Bool = true,
        truncation override: TruncationParams? = nil
    ) throws -> Encoding {
        let first = try encodeSequence(text, sequence: 0)
        let second = try pair.map { try encodeSequence($0, sequence: 1) }
        var e = try postProcess(first, second, addSpecialTokens: addSpecialTokens, truncation: override ?? truncation)
        if let padding, padding.fixedLength != nil {
            var batch = [e]
            padding.pad(&batch)
            e = batch[0]
        }
        return e
    }

    /// Encodes each text, then pads the batch as tokenizer.json says (or with `padding`).
    public func encodeBatch(
        _ texts: [String], addSpecialTokens: Bool = true,
        truncation override: TruncationParams? = nil, padding padOverride: PaddingParams? = nil
    ) throws -> [Encoding] {
        var out = try texts.map { t in
            try postProcess(try encodeSequence(t, sequence: 0), nil, addSpecialTokens: addSpecialTokens,
                            truncation: override ?? truncation)
        }
        if let p = padOverride ?? padding { p.pad(&out) }
        return out
    }

    private func postProcess(
        _ first: Encoding, _ second: Encoding?, addSpecialTokens: Bool, truncation: TruncationParams?
    ) throws -> Encoding {
        var a = first, b = second
        if var t = truncation {
            let added = addSpecialTokens ? specialTokenCount(isPair: b != nil) : 0
            t.maxLength = max(0, t.maxLength - added)
            try truncateEncodings(&a, &b, t)
        }
        if let postProcessor {
            return try postProcessor.process(a, pair: b, addSpecialTokens: addSpecialTokens)
        }
        return .concatenated(a, b)
    }

    /// Added tokens → normaliser → pre-tokenizer → model, offsets mapped back to the input.
    private func encodeSequence(_ text: String, sequence: Int) throws -> Encoding {
        var pre = try added.extractAndNormalize(Array(text.unicodeScalars), normalizer: normalizer)
        try preTokenizer?.preTokenize(&pre)
        var e = Encoding()
        for split in pre.splits {
            let tokens = try split.tokens ?? model.tokenize(split.normalized.scalars)
            for t in tokens {
                let r = split.normalized.originalRange(of: t.start..<t.end)
                e.ids.append(t.id)
                e.tokens.append(t.value)
                e.offsets.append(Encoding.Offset(r.lowerBound, r.upperBound))
            }
        }
        let n = e.ids.count
        e.typeIds = Array(repeating: 0, count: n)
        e.specialTokensMask = Array(repeating: 0, count: n)
        e.attentionMask = Array(repeating: 1, count: n)
        e.sequenceIds = Array(repeating: sequence, count: n)
        return e
    }

    /// Text for token ids, through the file's decoder (tokens joined when there is none).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) throws -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && isSpecial(id) { return nil }
            return token(of: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return try decoder.decode(tokens).joined()
    }
}

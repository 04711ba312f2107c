import Foundation

/// How token states become one sentence vector.
public enum PoolingMode: String, Sendable, Equatable {
    case mean, cls, max, lastToken = "lasttoken", meanSqrtLen = "mean_sqrt_len_tokens"
}

/// What a sentence-transformers folder says beyond `config.json`, read from either layout:
/// the classic 2.x one (`sentence_transformers.models.*`, `pooling_mode_*_tokens` flags,
/// `sentence_bert_config.json`) and the 6.x one (`sentence_transformers.base…` module types,
/// `"pooling_mode": "lasttoken"`, max length from `tokenizer_config.json`).
public struct SentenceTransformerConfig: Sendable, Equatable {
    public var pooling: PoolingMode = .mean
    public var includePrompt = true
    public var normalize = false
    public var maxSeqLength: Int?
    public var prompts: [String: String] = [:]
    public var defaultPromptName: String?

    public init() {}

    public init(folder: URL) throws {
        func readJSON(_ name: String) throws -> [String: Any]? {
            let url = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError(.malformedFile, file: url.path, "not a JSON object")
            }
            return obj
        }
        // modules.json: which modules, and where the pooling config lives.
        var poolingPath = "1_Pooling"
        let modulesURL = folder.appendingPathComponent("modules.json")
        if let data = FileManager.default.contents(atPath: modulesURL.path) {
            guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw ModelError(.malformedFile, file: modulesURL.path, "expected a list of modules")
            }
            for m in modules {
                let type = (m["type"] as? String) ?? ""
                if type.hasSuffix(".Normalize") || type.hasSuffix(".normalize.Normalize") { normalize = true }
                if type.hasSuffix(".Pooling") || type.hasSuffix("pooling.Pooling"), let p = m["path"] as? String { poolingPath = p }
            }
        }
        if let p = try readJSON("\(poolingPath)/config.json") {
            if let mode = p["pooling_mode"] as? String {
                guard let m = PoolingMode(rawValue: mode == "mean_sqrt_len" ? "mean_sqrt_len_tokens" : mode) else {
                    throw ModelError(.unsupported, file: "\(poolingPath)/config.json", "pooling mode \(mode) is not supported")
                }
                pooling = m
            } else if p["pooling_mode_cls_token"] as? Bool == true { pooling = .cls }
            else if p["pooling_mode_max_tokens"] as? Bool == true { pooling = .max }
            else if p["pooling_mode_lasttoken"] as? Bool == true { pooling = .lastToken }
            else if p["pooling_mode_mean_sqrt_len_tokens"] as? Bool == true { pooling = .meanSqrtLen }
            else { pooling = .mean }
            includePrompt = (p["include_prompt"] as? Bool) ?? true
        }
        if let sb = try readJSON("sentence_bert_config.json"), let m = (sb["max_seq_length"] as? NSNumber)?.intValue {
            maxSeqLength = m
        }
        if maxSeqLength == nil, let tc = try readJSON("tokenizer_config.json"),
           let m = (tc["model_max_length"] as? NSNumber)?.intValue, m > 0, m < 1_000_000 {
            maxSeqLength = m
        }
        if let st = try readJSON("config_sentence_transformers.json") {
            prompts = (st["prompts"] as? [String: String]) ?? [:]
            defaultPromptName = st["default_prompt_name"] as? String
        }
    }
}

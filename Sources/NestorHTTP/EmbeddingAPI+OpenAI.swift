import Foundation
import Hummingbird
import NestorCore

/// What every embedding route needs; one extension per API in its own file.
struct EmbeddingAPI: Sendable {
    let embedder: any Embedder
    let config: ServerConfiguration
    let metrics: ServerMetrics
}

/// `POST /v1/embeddings`, as OpenAI defines it and SGLang/vLLM extend it.
extension EmbeddingAPI {
    static let openAIFields: Set<String> = [
        "model", "input", "encoding_format", "dimensions", "user", "add_special_tokens", "truncate_prompt_tokens",
        "truncation_side", "truncate", "input_type", "prompt_name", "enable_chunked_processing",
    ]

    func openAIEmbeddings(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
        try body.only(Self.openAIFields)
        if body.has("user") { _ = try body.string("user") }  // accepted, as OpenAI's is: an end-user tag with no effect here
        let model = try checkModel(body, names: config.modelNames)
        let inputs = try parseInput(body)
        if config.textInputOnly, inputs.contains(where: { if case .tokens = $0 { true } else { false } }) {
            throw APIError.badRequest("this server takes text only ('input' as strings); it was started with --text-input-only. "
                                      + "Clients that tokenise for OpenAI models (LangChain's OpenAIEmbeddings) need check_embedding_ctx_length=False",
                                      param: "input")
        }
        guard inputs.count <= config.maxInputs else {
            throw APIError.badRequest("'input' has \(inputs.count) items; at most \(config.maxInputs) are allowed", param: "input")
        }
        let format = try body.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.badRequest("'encoding_format' must be \"float\" or \"base64\", got \"\(format)\"", param: "encoding_format")
        }
        var options = EmbedOptions(dimensions: try body.int("dimensions"),
                                   addSpecialTokens: try body.bool("add_special_tokens") ?? true)
        options.promptName = try promptName(body, info: embedder.info)
        try applyTruncation(body, to: &options)
        let out: EmbeddingOutput
        do {
            out = try await embedder.embed(inputs, options: options)
        } catch let e as EmbeddingError {
            throw APIError(e)
        }
        metrics.recordEmbedding(inputs: inputs.count, tokens: out.totalTokens)
        let w = JSONWriter()
        w.object {
            w.field("id", "embd-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
            w.field("object", "list")
            w.field("created", Int(Date().timeIntervalSince1970))
            w.key("data")
            w.array {
                for (i, v) in out.vectors.enumerated() {
                    w.object {
                        w.field("object", "embedding")
                        w.field("index", i)
                        w.key("embedding")
                        if format == "base64" { w.string(base64(v)) } else { w.floats(v) }
                    }
                }
            }
            w.field("model", model)
            w.key("usage")
            w.object {
                w.field("prompt_tokens", out.totalTokens)
                w.field("total_tokens", out.totalTokens)
                w.field("completion_tokens", 0)
            }
        }
        return w.response()
    }

    /// `input`: a string, a list of strings, a list of token ids, or a list of token-id lists.
    func parseInput(_ body: JSONBody) throws -> [EmbeddingInput] {
        let message = "'input' must be a string, an array of strings, an array of token ids or an array of token-id arrays"
        guard body.has("input") else { throw APIError.badRequest("'input' is required", param: "input") }
        let value = body.fields["input"]
        if let s = value as? String {
            guard !s.isEmpty else { throw APIError.badRequest("'input' must not be an empty string", param: "input") }
            return [.text(s)]
        }
        guard let list = value as? [Any] else { throw APIError.badRequest(message, param: "input") }
        guard !list.isEmpty else { throw APIError.badRequest("'input' must not be an empty array", param: "input") }
        if let strings = list as? [String] {
            if let i = strings.firstIndex(where: \.isEmpty) {
                throw APIError.badRequest("'input'[\(i)] is an empty string", param: "input")
            }
            return strings.map { .text($0) }
        }
        if let ids = tokenIds(list) { return [.tokens(ids)] }
        var out = [EmbeddingInput]()
        for (i, item) in list.enumerated() {
            guard let a = item as? [Any], let ids = tokenIds(a) else { throw APIError.badRequest(message, param: "input") }
            guard !ids.isEmpty else { throw APIError.badRequest("'input'[\(i)] is an empty token list", param: "input") }
            out.append(.tokens(ids))
        }
        return out
    }

    /// vLLM's `truncate_prompt_tokens` (k keeps k tokens; −1 the model's limit) and
    /// `truncation_side`, plus `truncate` END/START/NONE as TEI and Cohere spell it.
    func applyTruncation(_ body: JSONBody, to options: inout EmbedOptions) throws {
        if let k = try body.int("truncate_prompt_tokens") {
            let limit = embedder.info.maxInputTokens
            guard k == -1 || (k >= 1 && k <= limit) else {
                throw APIError.badRequest("'truncate_prompt_tokens' must be -1 or between 1 and the model's limit of \(limit) tokens, got \(k)",
                                          param: "truncate_prompt_tokens")
            }
            // The first k tokens are kept; `truncation_side: left` keeps the last k instead.
            options.maxTokens = k == -1 ? nil : k
            options.truncation = .end
        }
        if let side = try body.string("truncation_side") {
            switch side {
            case "left": options.truncation = .start
            case "right": options.truncation = .end
            default: throw APIError.badRequest("'truncation_side' must be \"left\" or \"right\"", param: "truncation_side")
            }
        }
        if let t = try body.string("truncate") { options.truncation = try truncation(t) }
        options.chunked = try body.bool("enable_chunked_processing") ?? config.chunkedProcessing
    }
}

/// END / START / NONE (any case).
func truncation(_ value: String) throws -> TruncationSide {
    switch value.uppercased() {
    case "END", "RIGHT": return .end
    case "START", "LEFT": return .start
    case "NONE": return .none
    default: throw APIError.badRequest("'truncate' must be END, START or NONE", param: "truncate")
    }
}

/// `model`, when given, must name the served model or an alias.
func checkModel(_ body: JSONBody, names: [String]) throws -> String {
    let served = names.first ?? "default"
    guard let m = try body.string("model") else { return served }
    guard names.contains(m) else {
        throw APIError(.notFound, "The model `\(m)` does not exist. Served: \(names.joined(separator: ", "))", param: "model")
    }
    return m
}

/// `prompt_name`, or `input_type` mapped onto the model's query / document prompt.
func promptName(_ body: JSONBody, info: EmbedderInfo) throws -> String? {
    if let p = try body.string("prompt_name") { return p }
    guard let t = try body.string("input_type") else { return nil }
    switch t.lowercased() {
    case "query", "search_query": return info.queryPromptName
    case "document", "passage", "search_document": return info.documentPromptName
    case "classification", "clustering", "none": return nil
    default:
        if info.prompts[t] != nil { return t }
        throw APIError.badRequest("'input_type' must be query, document, search_query, search_document, classification or clustering", param: "input_type")
    }
}

/// Little-endian float32 bytes, base64 — what the official client decodes by default.
func base64(_ v: [Float]) -> String {
    var bytes = [UInt8]()
    bytes.reserveCapacity(v.count * 4)
    for x in v {
        let b = x.bitPattern.littleEndian
        bytes.append(UInt8(truncatingIfNeeded: b))
        bytes.append(UInt8(truncatingIfNeeded: b >> 8))
        bytes.append(UInt8(truncatingIfNeeded: b >> 16))
        bytes.append(UInt8(truncatingIfNeeded: b >> 24))
    }
    return Data(bytes).base64EncodedString()
}

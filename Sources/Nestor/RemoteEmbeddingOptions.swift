import ArgumentParser
import Foundation
import NestorCore
import RemoteEmbedding
import Tokenization

/// `serve --embedding-url …`: embeddings from an OpenAI-compatible server instead of the local
/// engine (see `RemoteEmbedder`). Every flag has an environment twin (NESTOR_EMBEDDING_URL, …).
struct RemoteEmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embedding-url"), help: "Base URL of an OpenAI-compatible embeddings server, e.g. http://gpu:8000/v1.") var url: String?
    @Option(name: .customLong("embedding-model"), help: "The model name to send upstream (required with --embedding-url).") var model: String?
    @Option(name: .customLong("embedding-api-key"), help: "Bearer key for the upstream.") var apiKey: String?
    @Option(name: .customLong("embedding-tokenizer"), help: "The model's tokenizer.json (or its folder), for exact chunking and token counts; without it both are estimated.") var tokenizer: String?
    @Option(name: .customLong("embedding-max-tokens"), help: "The upstream model's input limit in tokens (default 512).") var maxTokens: Int?
    @Option(name: .customLong("query-prompt"), help: "Prefix for queries, e.g. \"query: \" (a remote server may not apply the model's prompts).") var queryPrompt: String?
    @Option(name: .customLong("document-prompt"), help: "Prefix for documents, e.g. \"passage: \".") var documentPrompt: String?
    @Option(name: .customLong("embedding-batch-size"), help: "Inputs per upstream request (default 64).") var batchSize: Int?
    @Option(name: .customLong("embedding-timeout"), help: "Seconds per upstream request before it is retried (default 30).") var timeout: Double?
    @Option(name: .customLong("embedding-attempts"), help: "Attempts per upstream request, the first included (default 4).") var attempts: Int?

    func connect(url: String, servedName: String?, matryoshka: MatryoshkaPolicy, tokenizerMode: TokenizerMode,
                 env: [String: String]) async throws -> RemoteEmbedder {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
            throw ValidationError("--embedding-url must be an http(s) URL, got \(url)")
        }
        guard let name = model ?? env["NESTOR_EMBEDDING_MODEL"] else { throw ValidationError("--embedding-url needs --embedding-model NAME") }
        var tok: Tokenizer?
        if let path = tokenizer ?? env["NESTOR_EMBEDDING_TOKENIZER"] {
            do {
                tok = try Tokenizer(contentsOf: URL(fileURLWithPath: path), mode: tokenizerMode).with(truncation: nil, padding: nil)
            } catch {
                throw ValidationError("cannot load the tokenizer at \(path): \(error)")
            }
        }
        let o = RemoteEmbedder.Options(
            url: base, model: name, apiKey: apiKey ?? env["NESTOR_EMBEDDING_API_KEY"], servedName: servedName,
            queryPrompt: queryPrompt ?? env["NESTOR_QUERY_PROMPT"], documentPrompt: documentPrompt ?? env["NESTOR_DOCUMENT_PROMPT"],
            maxBatch: batchSize ?? 64, attempts: attempts ?? 4, timeout: timeout ?? 30,
            maxInputTokens: maxTokens ?? env["NESTOR_EMBEDDING_MAX_TOKENS"].flatMap(Int.init) ?? 512, matryoshka: matryoshka, tokenizer: tok)
        guard o.maxBatch >= 1, o.attempts >= 1, o.timeout > 0, o.maxInputTokens >= 8 else {
            throw ValidationError("--embedding-batch-size, --embedding-attempts, --embedding-timeout and --embedding-max-tokens must be positive")
        }
        do {
            return try await RemoteEmbedder.connect(o)
        } catch let e as EmbeddingError {
            throw CommandFailure("cannot use the embedding upstream at \(url): \(e.message)")
        }
    }
}

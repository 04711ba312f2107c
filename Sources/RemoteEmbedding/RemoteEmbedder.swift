import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NestorCore
import Tokenization
import VectorMath

/// An `Embedder` over an OpenAI-compatible embeddings server (vLLM, SGLang, TEI, Infinity,
/// another Nestor): `POST {url}/embeddings` with `model` and `input`. For a deployment whose
/// embedding model runs on GPUs elsewhere while Nestor keeps the index.
///
/// A remote server may not apply the model's prompts, so the query and document prompts are
/// Nestor's own (configured, prepended here). Inputs go upstream in bounded batches; 429s, 5xx
/// answers, timeouts and refused connections are retried with exponential backoff (honouring
/// `Retry-After`), and what still fails becomes an `EmbeddingError` the HTTP layer answers with
/// 502 (the upstream refused or broke), 503 (unreachable or overloaded) or 504 (too slow) — or
/// 400 when the upstream says the input itself is bad. A failure fails the whole call, so an
/// ingest either has every vector or writes nothing.
///
/// Token spans (for chunking) and counts come from a local copy of the model's tokenizer when
/// one is given; without it, a conservative estimate (pieces of at most four characters, one
/// per character in scripts without spaces) keeps chunks below the upstream's limit.
public final class RemoteEmbedder: Embedder {
    public struct Options: Sendable {
        /// The upstream's base URL, ending in `/v1` (the one OpenAI clients take).
        public var url: URL
        /// `model` sent upstream.
        public var model: String
        public var apiKey: String?
        /// Name clients use; defaults to `model`.
        public var servedName: String?
        /// Prefixes Nestor puts in front of queries and documents (E5's "query: ", …).
        public var queryPrompt: String?
        public var documentPrompt: String?
        /// Inputs per upstream request.
        public var maxBatch: Int
        /// Upstream requests in flight at once for one call.
        public var concurrency: Int
        /// Attempts per upstream request (the first included).
        public var attempts: Int
        /// Seconds one upstream request may take.
        public var timeout: Double
        /// The first retry's wait; doubled each time.
        public var backoff: Double
        /// The upstream model's input limit in tokens.
        public var maxInputTokens: Int
        public var matryoshka: MatryoshkaPolicy
        /// The model's own tokenizer, for exact chunking and token counts.
        public var tokenizer: Tokenizer?

        public init(url: URL, model: String, apiKey: String? = nil, servedName: String? = nil, queryPrompt: String? = nil,
                    documentPrompt: String? = nil, maxBatch: Int = 64, concurrency: Int = 2, attempts: Int = 4, timeout: Double = 30,
                    backoff: Double = 0.25, maxInputTokens: Int = 512, matryoshka: MatryoshkaPolicy = .none, tokenizer: Tokenizer? = nil) {
            self.url = url
            self.model = model
            self.apiKey = apiKey
            self.servedName = servedName
            self.queryPrompt = queryPrompt
            self.documentPrompt = documentPrompt
            self.maxBatch = maxBatch
            self.concurrency = concurrency
            self.attempts = attempts
            self.timeout = timeout
            self.backoff = backoff
            self.maxInputTokens = maxInputTokens
            self.matryoshka = matryoshka
            self.tokenizer = tokenizer
        }
    }

    public let info: EmbedderInfo
    public let options: Options
    private let session: URLSession

    /// Connects: one probe embedding tells the dimension (and that the upstream serves the model).
    public static func connect(_ options: Options) async throws -> RemoteEmbedder {
        let probe = RemoteEmbedder(options: options, dimensions: 0)
        let vectors = try await probe.post(["dimension probe"])
        guard let d = vectors.vectors.first?.count, d > 0 else {
            throw EmbeddingError(.upstreamFailure, "the upstream at \(options.url) returned no embedding for the probe")
        }
        return RemoteEmbedder(options: options, dimensions: d)
    }

    private init(options: Options, dimensions: Int) {
        self.options = options
        var prompts = [String: String]()
        if let q = options.queryPrompt { prompts["query"] = q }
        if let p = options.documentPrompt { prompts["document"] = p }
        info = EmbedderInfo(name: options.servedName ?? options.model, dimensions: dimensions, maxInputTokens: options.maxInputTokens,
                            matryoshka: options.matryoshka, prompts: prompts)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = options.timeout
        config.httpMaximumConnectionsPerHost = max(1, options.concurrency)
        session = URLSession(configuration: config)
    }

    public func embed(_ inputs: [EmbeddingInput], options o: EmbedOptions) async throws -> EmbeddingOutput {
        if let d = o.dimensions, let reason = info.matryoshka.rejection(of: d, full: info.dimensions) {
            throw EmbeddingError(.invalidDimensions, reason, param: "dimensions")
        }
        guard let prompt = o.promptName.map({ info.prompts[$0] }) ?? "" else {
            throw EmbeddingError(.unknownPrompt, "unknown prompt '\(o.promptName ?? "")'; this server has \(info.prompts.keys.sorted().joined(separator: ", "))",
                                 param: "prompt_name")
        }
        // What the upstream cannot be asked for is refused, not silently dropped.
        if o.maxTokens != nil {
            throw EmbeddingError(.invalidInput, "'truncate_prompt_tokens' is not available when embeddings come from a remote backend",
                                 param: "truncate_prompt_tokens")
        }
        if !o.addSpecialTokens {
            throw EmbeddingError(.invalidInput, "'add_special_tokens' false is not available when embeddings come from a remote backend",
                                 param: "add_special_tokens")
        }
        var texts = [String]()
        var counts = [Int]()
        for (i, input) in inputs.enumerated() {
            guard case .text(let t) = input else {
                throw EmbeddingError(.invalidInput, "input \(i): this server embeds through a remote backend and takes text only", param: "input")
            }
            let text = prompt + t
            let n = estimatedTokens(text)
            if o.truncation == .none || o.chunked, n > info.maxInputTokens {
                let why = o.chunked ? "; chunked processing is not available with a remote backend" : ""
                throw EmbeddingError(.inputTooLong, "input \(i) has about \(n) tokens, more than the limit of \(info.maxInputTokens)\(why)", param: "input")
            }
            texts.append(text)
            counts.append(n)
        }
        // Bounded batches, a few in flight; results in input order.
        let batches = stride(from: 0, to: texts.count, by: max(1, options.maxBatch)).map { Array(texts[$0..<min($0 + options.maxBatch, texts.count)]) }
        var results = [[[Float]]](repeating: [], count: batches.count)
        var upstreamTokens = 0
        var next = 0
        while next < batches.count {
            let group = Array(next..<min(batches.count, next + max(1, options.concurrency)))
            try await withThrowingTaskGroup(of: (Int, Remote).self) { tasks in
                for b in group { tasks.addTask { (b, try await self.post(batches[b])) } }
                for try await (b, r) in tasks {
                    results[b] = r.vectors
                    upstreamTokens += r.tokens
                }
            }
            next += group.count
        }
        var vectors = results.flatMap { $0 }
        guard vectors.count == texts.count, vectors.allSatisfy({ $0.count == info.dimensions }) else {
            throw EmbeddingError(.upstreamFailure, "the upstream returned \(vectors.count) embeddings for \(texts.count) inputs, or of another dimension than \(info.dimensions)")
        }
        if let d = o.dimensions, d < info.dimensions { vectors = vectors.map { truncateMatryoshka($0, to: d) } }
        // Usage: the local tokenizer's counts, or the upstream's total shared out by estimate.
        if options.tokenizer == nil, upstreamTokens > 0 {
            let total = max(1, counts.reduce(0, +))
            counts = counts.map { max(1, $0 * upstreamTokens / total) }
        }
        return EmbeddingOutput(vectors: vectors, tokenCounts: counts)
    }

    struct Remote {
        var vectors: [[Float]]
        var tokens: Int
    }

    /// One upstream request with its retries.
    func post(_ texts: [String]) async throws -> Remote {
        var request = URLRequest(url: options.url.appendingPathComponent("embeddings"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = options.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: ["model": options.model, "input": texts, "encoding_format": "float"])
        request.timeoutInterval = options.timeout
        var last = EmbeddingError(.upstreamUnavailable, "the embedding upstream at \(options.url) was not tried")
        for attempt in 0..<max(1, options.attempts) {
            var wait = options.backoff * pow(2, Double(attempt))
            do {
                let (data, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if status == 200 { return try Self.decode(data) }
                let message = Self.upstreamMessage(data)
                switch status {
                case 429, 503:
                    last = EmbeddingError(.upstreamUnavailable, "the embedding upstream is overloaded (HTTP \(status)): \(message)")
                    if let after = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init) { wait = min(after, 10) }
                case 500...:
                    last = EmbeddingError(.upstreamFailure, "the embedding upstream failed (HTTP \(status)): \(message)")
                case 400, 413, 422:
                    throw EmbeddingError(.invalidInput, "the embedding upstream refused the input (HTTP \(status)): \(message)", param: "input")
                default:
                    throw EmbeddingError(.upstreamFailure, "the embedding upstream answered HTTP \(status): \(message)")
                }
            } catch let e as EmbeddingError {
                throw e
            } catch let e as URLError where e.code == .timedOut {
                last = EmbeddingError(.upstreamTimeout, "the embedding upstream did not answer within \(Int(options.timeout)) s")
            } catch {
                last = EmbeddingError(.upstreamUnavailable, "the embedding upstream at \(options.url) cannot be reached: \(error.localizedDescription)")
            }
            if attempt + 1 < options.attempts { try await Task.sleep(for: .seconds(wait)) }
        }
        throw last
    }

    static func decode(_ data: Data) throws -> Remote {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let items = obj["data"] as? [[String: Any]] else {
            throw EmbeddingError(.upstreamFailure, "the embedding upstream's answer is not an OpenAI embeddings response")
        }
        var out = [(Int, [Float])]()
        for (i, item) in items.enumerated() {
            guard let values = item["embedding"] as? [NSNumber] else {
                throw EmbeddingError(.upstreamFailure, "the embedding upstream's item \(i) has no float embedding")
            }
            out.append(((item["index"] as? Int) ?? i, values.map(\.floatValue)))
        }
        let tokens = ((obj["usage"] as? [String: Any])?["prompt_tokens"] as? Int) ?? 0
        return Remote(vectors: out.sorted { $0.0 < $1.0 }.map(\.1), tokens: tokens)
    }

    static func upstreamMessage(_ data: Data) -> String {
        if let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let e = obj["error"] as? [String: Any], let m = e["message"] as? String { return m }
            if let m = obj["message"] as? String ?? obj["detail"] as? String ?? obj["error"] as? String { return m }
        }
        return String(decoding: data.prefix(300), as: UTF8.self)
    }

    // MARK: tokens

    func estimatedTokens(_ text: String) -> Int {
        if let t = options.tokenizer, let e = try? t.encode(text) { return e.count }
        return Self.pieces(text).count + 2
    }

    /// Without a tokenizer: runs of letters and digits cut into pieces of at most four
    /// characters, every other non-space character one piece (CJK, punctuation) — more pieces
    /// than a subword tokenizer makes for most text, so chunks stay within the limit.
    static func pieces(_ text: String) -> [Range<Int>] {
        var out = [Range<Int>]()
        var start: Int?
        func close(_ end: Int) {
            guard let s = start else { return }
            var i = s
            while i < end { out.append(i..<min(end, i + 4)); i += 4 }
            start = nil
        }
        for (i, u) in text.unicodeScalars.enumerated() {
            let p = u.properties
            let word = (p.isAlphabetic || p.numericType != nil) && !(p.isIdeographic || (0x3040...0x30FF).contains(u.value) || (0x0E00...0x0EFF).contains(u.value))
            if word {
                if start == nil { start = i }
            } else {
                close(i)
                if !p.isWhitespace { out.append(i..<(i + 1)) }
            }
        }
        close(text.unicodeScalars.count)
        return out
    }

    public func tokenSpans(_ text: String) throws -> [Range<Int>] {
        if let t = options.tokenizer {
            do {
                return try t.encode(text, addSpecialTokens: false).offsets.map { $0.start..<max($0.start, $0.end) }
            } catch {
                throw EmbeddingError(.internalFailure, "the tokenizer failed: \(error)")
            }
        }
        return Self.pieces(text)
    }

    public func overheadTokens(promptName: String?) throws -> Int {
        let prompt = promptName.flatMap { info.prompts[$0] } ?? ""
        if let t = options.tokenizer {
            return (try? t.encode(prompt).count) ?? 2
        }
        return Self.pieces(prompt).count + 2
    }

    public func tokenize(_ text: String, promptName: String?, addSpecialTokens: Bool) throws -> Tokenized {
        guard let t = options.tokenizer else {
            throw EmbeddingError(.invalidInput, "this server embeds through a remote backend without a local tokenizer; start it with --embedding-tokenizer to tokenize",
                                 param: "text")
        }
        let prompt = promptName.flatMap { info.prompts[$0] } ?? ""
        do {
            let e = try t.encode(prompt + text, addSpecialTokens: addSpecialTokens)
            return Tokenized(ids: e.ids, pieces: e.tokens)
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed: \(error)")
        }
    }
}

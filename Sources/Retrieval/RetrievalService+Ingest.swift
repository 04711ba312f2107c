import Foundation
import Lexical
import NestorCore

extension RetrievalService {
    /// Chunks, embeds and stores a batch of documents. Returns only once the batch is durable;
    /// a failure anywhere leaves the collection as it was (nothing half-applied). Work that may
    /// follow a commit (fitting the coarse basis) runs in the background, never inside the
    /// acknowledged request.
    public nonisolated func ingest(_ request: IngestRequest) async throws -> IngestResult {
        try requireWriter()
        let index = try await indexForIngest(request.collection, create: request.createCollection)
        let documents = request.documents
        guard !documents.isEmpty else { throw RetrievalError(.invalid, "'documents' must not be empty", param: "documents") }
        guard documents.count <= settings.maxDocumentsPerRequest else {
            throw RetrievalError(.tooLarge, "'documents' has \(documents.count) items; at most \(settings.maxDocumentsPerRequest) per request", param: "documents")
        }
        let options = try chunkingOptions(request.chunking)
        let prompt = embedder.info.documentPromptName
        var ids = Set<String>()
        var prepared = [(id: String, doc: IngestDocument, chunks: [TextChunk])]()
        var total = 0
        for (i, d) in documents.enumerated() {
            let id = d.id ?? UUID().uuidString.lowercased()
            if let p = DocumentIdRule.problem(id, maxBytes: settings.maxIdBytes) {
                throw RetrievalError(.invalid, "documents[\(i)].id \(p)", param: "documents[\(i)].id")
            }
            guard ids.insert(id).inserted else {
                throw RetrievalError(.invalid, "documents[\(i)].id \"\(id)\" appears twice in this batch", param: "documents[\(i)].id")
            }
            try checkMetadata(d.metadata, param: "documents[\(i)].metadata")
            let chunks = Chunker.split(d.text, spans: try embedder.tokenSpans(d.text), options: options)
            guard !chunks.isEmpty else {
                throw RetrievalError(.invalid, "documents[\(i)].text has no content to index", param: "documents[\(i)].text")
            }
            total += chunks.count
            guard total <= settings.maxChunksPerRequest else {
                throw RetrievalError(.tooLarge, "this request would make more than \(settings.maxChunksPerRequest) chunks (at documents[\(i)]); "
                                     + "send fewer or shorter documents per request", param: "documents")
            }
            prepared.append((id, d, chunks))
        }
        let t0 = Date()
        let texts = prepared.flatMap { $0.chunks.map { EmbeddingInput.text($0.text) } }
        let vectors = try await embedder.embed(texts, options: EmbedOptions(promptName: prompt, truncation: .end)).vectors
        let t1 = Date()
        var next = 0
        let analyzer = index.analyzer
        let inputs = prepared.map { p -> CollectionIndex.Input in
            let chunks = p.chunks.map { c -> CollectionIndex.Chunk in
                defer { next += 1 }
                // Analysed here, on the request's task, not inside the collection's serialised write.
                return CollectionIndex.Chunk(text: c.text, tokenStart: c.tokenStart, tokenEnd: c.tokenEnd, vector: vectors[next],
                                             terms: Analyzer.frequencies(c.text, options: analyzer))
            }
            return CollectionIndex.Input(id: p.id, text: p.doc.text, metadata: p.doc.metadata, chunks: chunks)
        }
        try await index.apply(upserts: inputs)
        await scheduleRefit(index)
        return IngestResult(collection: request.collection, documents: prepared.map { IngestedDocument(id: $0.id, chunks: $0.chunks.count) },
                            embedSeconds: t1.timeIntervalSince(t0), writeSeconds: Date().timeIntervalSince(t1))
    }

    /// The chunking a request asks for, with the model's defaults filled in and checked.
    nonisolated func chunkingOptions(_ c: ChunkingRequest?) throws -> ChunkingOptions {
        let room = embedder.info.maxInputTokens - (try embedder.overheadTokens(promptName: embedder.info.documentPromptName))
        let maxTokens = c?.maxTokens ?? room
        guard maxTokens >= 1, maxTokens <= room else {
            throw RetrievalError(.invalid, "'chunking.max_tokens' must be between 1 and \(room) for this model, got \(maxTokens)", param: "chunking.max_tokens")
        }
        let overlap = c?.overlapTokens ?? 0
        guard overlap >= 0, overlap < maxTokens else {
            throw RetrievalError(.invalid, "'chunking.overlap_tokens' must be between 0 and max_tokens − 1 (\(maxTokens - 1)), got \(overlap)",
                                 param: "chunking.overlap_tokens")
        }
        return ChunkingOptions(maxTokens: maxTokens, overlapTokens: overlap)
    }

    /// Metadata limits: a bounded size and depth, so one document cannot make every filter and
    /// every result heavy.
    nonisolated func checkMetadata(_ m: Metadata, param: String) throws {
        let depth = MetadataValue.object(m).depth
        guard depth <= settings.maxMetadataDepth else {
            throw RetrievalError(.invalid, "\(param) is nested \(depth) levels deep; at most \(settings.maxMetadataDepth)", param: param)
        }
        if m.isEmpty { return }
        let bytes = MetadataValue.jsonText(m).utf8.count
        guard bytes <= settings.maxMetadataBytes else {
            throw RetrievalError(.tooLarge, "\(param) is \(bytes) bytes as JSON; at most \(settings.maxMetadataBytes)", param: param)
        }
        if let bad = m.keys.first(where: { $0.isEmpty || $0.utf8.count > 256 }) {
            throw RetrievalError(.invalid, "\(param) has a key of \(bad.utf8.count) bytes; keys are 1–256 bytes", param: param)
        }
    }
}

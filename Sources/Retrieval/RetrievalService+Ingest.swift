import Foundation
import NestorCore

extension RetrievalService {
    /// Chunks, embeds and stores a batch of documents. Returns only once the batch is durable;
    /// a failure anywhere leaves the collection as it was (nothing half-applied).
    public nonisolated func ingest(_ documents: [IngestDocument], into collection: String,
                                   chunking: ChunkingOptions? = nil) async throws -> IngestResult {
        let index = try await index(collection)
        guard !documents.isEmpty else { throw RetrievalError(.invalid, "'documents' must not be empty", param: "documents") }
        guard documents.count <= settings.maxDocumentsPerRequest else {
            throw RetrievalError(.tooLarge, "'documents' has \(documents.count) items; at most \(settings.maxDocumentsPerRequest) per request", param: "documents")
        }
        let info = embedder.info
        let prompt = info.documentPromptName
        let room = info.maxInputTokens - (try embedder.overheadTokens(promptName: prompt))
        let options = try chunking ?? ChunkingOptions(maxTokens: room)
        guard options.maxTokens >= 1, options.maxTokens <= room else {
            throw RetrievalError(.invalid, "'chunking.max_tokens' must be between 1 and \(room) for this model, got \(options.maxTokens)", param: "chunking.max_tokens")
        }
        guard options.overlapTokens >= 0, options.overlapTokens < options.maxTokens else {
            throw RetrievalError(.invalid, "'chunking.overlap_tokens' must be between 0 and max_tokens − 1", param: "chunking.overlap_tokens")
        }
        var ids = Set<String>()
        var prepared = [(id: String, doc: IngestDocument, chunks: [TextChunk])]()
        for (i, d) in documents.enumerated() {
            let id = d.id ?? UUID().uuidString.lowercased()
            guard !id.isEmpty, id.utf8.count <= 512 else {
                throw RetrievalError(.invalid, "documents[\(i)].id must be 1–512 bytes", param: "documents[\(i)].id")
            }
            guard ids.insert(id).inserted else {
                throw RetrievalError(.invalid, "documents[\(i)].id \"\(id)\" appears twice in this batch", param: "documents[\(i)].id")
            }
            let chunks = Chunker.split(d.text, spans: try embedder.tokenSpans(d.text), options: options)
            guard !chunks.isEmpty else {
                throw RetrievalError(.invalid, "documents[\(i)].text has no content to index", param: "documents[\(i)].text")
            }
            prepared.append((id, d, chunks))
        }
        let t0 = Date()
        let texts = prepared.flatMap { $0.chunks.map { EmbeddingInput.text($0.text) } }
        let vectors = try await embedder.embed(texts, options: EmbedOptions(promptName: prompt, truncation: .end)).vectors
        let t1 = Date()
        var next = 0
        let inputs = prepared.map { p -> CollectionIndex.Input in
            let chunks = p.chunks.map { c -> (text: String, tokenStart: Int, tokenEnd: Int, vector: [Float]) in
                defer { next += 1 }
                return (c.text, c.tokenStart, c.tokenEnd, vectors[next])
            }
            return CollectionIndex.Input(id: p.id, text: p.doc.text, metadata: p.doc.metadata, chunks: chunks)
        }
        try await index.apply(upserts: inputs)
        try await refit(index, force: false)
        return IngestResult(documents: prepared.map { IngestedDocument(id: $0.id, chunks: $0.chunks.count) },
                            embedSeconds: t1.timeIntervalSince(t0), writeSeconds: Date().timeIntervalSince(t1))
    }
}

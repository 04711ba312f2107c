import Foundation
import NestorCore
import Retrieval

/// The JSON form of the service's results: one encoder for `/search`, `/ingest`, collections
/// and documents, used by the HTTP routes and by the CLI's `--json` output alike.
public enum RetrievalJSON {
    /// A search result as `/search` returns it.
    public static func text(_ r: SearchResult) -> String {
        String(decoding: writer { write(r, $0) }.bytes, as: UTF8.self)
    }

    static func writer(_ body: (JSONWriter) -> Void) -> JSONWriter {
        let w = JSONWriter()
        body(w)
        return w
    }

    static func write(_ c: CollectionInfo, _ w: JSONWriter) {
        w.object {
            w.field("name", c.spec.name)
            w.field("model", c.spec.model)
            w.field("dimensions", c.spec.dimensions)
            w.field("coarse_dimensions", c.spec.coarseDimensions)
            w.field("coarse_basis", c.coarseBasis)
            w.field("metric", "cosine")
            w.field("m", c.spec.m)
            w.field("ef_construction", c.spec.efConstruction)
            w.key("bm25_k1"); w.double(c.spec.bm25K1)
            w.key("bm25_b"); w.double(c.spec.bm25B)
            w.key("fold_diacritics"); w.bool(c.spec.foldDiacritics)
            w.field("terms", c.terms)
            w.field("documents", c.documents)
            w.field("chunks", c.chunks)
            w.field("graph_nodes", c.graphNodes)
            w.field("deleted_nodes", c.deletedNodes)
            if let u = c.unavailable { w.field("unavailable", u) }
        }
    }

    static func write(_ r: IngestResult, _ w: JSONWriter) {
        w.object {
            w.field("collection", r.collection)
            w.key("documents")
            w.array { for d in r.documents { w.object { w.field("id", d.id); w.field("chunks", d.chunks) } } }
            w.field("chunks", r.chunks)
            w.key("timings")
            w.object { w.key("embed_ms"); w.double(r.embedSeconds * 1000); w.key("write_ms"); w.double(r.writeSeconds * 1000) }
        }
    }

    static func write(_ r: SearchResult, _ w: JSONWriter) {
        w.object {
            w.field("collection", r.collection)
            w.key("hits")
            w.array {
                for h in r.hits {
                    w.object {
                        w.field("id", h.id)
                        w.field("document_id", h.documentId)
                        w.field("chunk_index", h.chunkIndex)
                        w.key("score"); w.float(h.score)
                        if r.mode == .hybrid {
                            w.key("dense_rank"); if let d = h.denseRank { w.int(d) } else { w.null() }
                            w.key("lexical_rank"); if let l = h.lexicalRank { w.int(l) } else { w.null() }
                        }
                        if let t = h.text { w.field("text", t) }
                        if let m = h.metadata { w.key("metadata"); w.raw(MetadataValue.jsonText(m)) }
                        if let v = h.vector { w.key("vector"); w.floats(v) }
                    }
                }
            }
            w.key("next_offset"); if let n = r.nextOffset { w.int(n) } else { w.null() }
            w.field("mode", r.mode.rawValue)
            w.field("score_type", r.scoreType)
            w.field("path", r.path.rawValue)
            w.field("candidates", r.candidates)
            w.key("timings")
            w.object {
                w.key("embed_ms"); w.double(r.embedSeconds * 1000)
                w.key("coarse_ms"); w.double(r.coarseSeconds * 1000)
                w.key("rerank_ms"); w.double(r.rerankSeconds * 1000)
                w.key("lexical_ms"); w.double(r.lexicalSeconds * 1000)
                w.key("fusion_ms"); w.double(r.fusionSeconds * 1000)
                w.key("reranker_ms"); w.double(r.rerankerSeconds * 1000)
                w.key("fetch_ms"); w.double(r.fetchSeconds * 1000)
            }
        }
    }

    static func write(_ page: (documents: [DocumentSummary], nextCursor: String?), collection: String, _ w: JSONWriter) {
        w.object {
            w.field("collection", collection)
            w.key("documents")
            w.array {
                for d in page.documents {
                    w.object {
                        w.field("id", d.id)
                        w.field("text", d.text)
                        w.key("metadata"); w.raw(MetadataValue.jsonText(d.metadata))
                        w.field("chunks", d.chunks)
                    }
                }
            }
            w.key("next_cursor"); if let c = page.nextCursor { w.string(c) } else { w.null() }
        }
    }

    static func write(_ d: DocumentRow, collection: String, _ w: JSONWriter) {
        w.object {
            w.field("id", d.id)
            w.field("collection", collection)
            w.field("text", d.text)
            w.key("metadata"); w.raw(MetadataValue.jsonText(d.metadata))
            w.key("chunks")
            w.array {
                for c in d.chunks {
                    w.object {
                        w.field("index", c.ordinal); w.field("text", c.text)
                        w.field("token_start", c.tokenStart); w.field("token_end", c.tokenEnd)
                    }
                }
            }
        }
    }
}

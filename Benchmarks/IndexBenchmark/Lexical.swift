import Foundation
import HNSW
import Lexical
import Logging
import NestorCore
import StoreSQLite
import TensorOps
import VectorMath

// The lexical side's costs (driven by Benchmarks/index/lexical.py):
//
//     IndexBenchmark lexstore synthetic:COUNT DIM DIR VOCAB.txt [VOCAB_SIZE MEAN_WORDS M EFC COARSE]
//         two stores of the same COUNT chunks (same vectors, same graph, same text): DIR/with.sqlite
//         with each chunk's analysed terms and the term table, DIR/without.sqlite with none;
//         `load` then times opening either
//     IndexBenchmark lexload DB.sqlite OUT.json
//         the start-up's lexical steps one after another, each timed
//     IndexBenchmark hybrid CHUNKS.txt QUERIES.txt DIM DIR OUT.json [CHUNKS_COUNT BATCH QUERIES]
//         ingest through CollectionIndex.apply into two SQLite stores, batch by batch alternated,
//         with the service's analysis and without terms; then dense, hybrid and lexical search
//         on the lexical one, interleaved query by query

/// SplitMix64, for reproducible texts.
struct Mix {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992 }
}

/// Texts drawn word by word from a Zipf-distributed vocabulary: the head is real words (the
/// Debian descriptions' own whitespace tokens, most frequent first, punctuation and
/// identifiers included), the tail synthetic, so a million chunks get the long-tailed term
/// table real text has (Heaps' law) rather than a few thousand terms.
struct ZipfTexts {
    let words: [String]
    let cdf: [Double]
    init(head: [String], size: Int, exponent: Double = 1.0) {
        var w = Array(head.prefix(size))
        var i = 0
        while w.count < size {
            w.append("q" + String(i &* 2_654_435_761 % 1_000_000_007, radix: 36))
            i += 1
        }
        var c = [Double]()
        c.reserveCapacity(size)
        var sum = 0.0
        for r in 1...size {
            sum += Foundation.pow(Double(r), -exponent)
            c.append(sum)
        }
        cdf = c.map { $0 / sum }
        words = w
    }

    /// Text `i`: between mean/2 and 3·mean/2 words.
    func text(_ i: Int, meanWords mean: Int) -> String {
        var rng = Mix(s: UInt64(i) &* 0x2545_F491_4F6C_DD1D &+ 0x1234)
        let n = mean / 2 + Int(rng.next() % UInt64(mean + 1))
        var out = ""
        out.reserveCapacity(n * 8)
        for k in 0..<n {
            let u = rng.unit()
            var lo = 0, hi = cdf.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            if k > 0 { out += " " }
            out += words[lo]
        }
        return out
    }
}

func lines(_ path: String) -> [String] {
    guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
    return s.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
}

/// Two stores of the same collection, one with lexical terms and one without (see above).
func storeLexical(count n: Int, d: Int, dir: String, head: [String], vocabularySize: Int, meanWords: Int,
                  m: Int, efc: Int, coarse: Int) async throws -> [String: Any] {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let paths = [dir + "/with.sqlite", dir + "/without.sqlite"]
    for p in paths { for suffix in ["", "-wal", "-shm", ".lock", ".built.json"] { try? FileManager.default.removeItem(atPath: p + suffix) } }
    var out: [String: Any] = ["n": n, "dimension": d, "coarse": coarse, "m": m, "ef_construction": efc,
                              "vocabulary_size": vocabularySize, "mean_words": meanWords, "zipf_exponent": 1.0]
    var t = now()
    let base = synthetic(count: n, dimension: d)
    log("generated \(n) vectors in \(String(format: "%.1f", now() - t)) s")
    let spec = CollectionSpec(name: "bench", model: "bench", dimensions: d, coarseDimensions: coarse, m: m, efConstruction: efc)
    t = now()
    let r = coarse < d ? try rotation(base, dimension: d, coarse: coarse) : nil
    var graph = SearchState(spec: spec, projection: CoarseProjection(full: d, coarse: coarse, rotation: r),
                            chunks: base.enumerated().map { (label: UInt64($0.offset + 1), documentId: String($0.offset), vector: $0.element) }).graph
    out["build_s"] = now() - t
    log("built the graph over \(n) in \(String(format: "%.1f", now() - t)) s")
    _ = graph.takeDirtyNodes()
    let rows = (0..<Int32(graph.nodeCount)).map { GraphRecordRow(node: Int($0), bytes: GraphCodec.encode(graph.record($0))) }
    let checksum = rows.reduce(UInt64(0)) { $0 &+ GraphCodec.hash(node: $1.node, $1.bytes) }
    let zipf = ZipfTexts(head: head, size: vocabularySize)
    var stores = [SQLiteStore]()
    for p in paths {
        let s = try SQLiteStore(path: p)
        try await s.migrate()
        try await s.createCollection(spec)
        stores.append(s)
    }
    var lexical = BM25Index()
    var newTerms = 0
    var generation = 0.0, analysis = 0.0, words = 0, textBytes = 0, postings = 0, termBytes = 0
    var write = [0.0, 0.0]
    for start in stride(from: 0, to: n, by: 10_000) {
        let range = start..<min(start + 10_000, n)
        t = now()
        let texts = range.map { zipf.text($0, meanWords: meanWords) }
        generation += now() - t
        t = now()
        let frequencies = texts.map { Analyzer.frequencies($0) }  // as RetrievalService.ingest does, per chunk
        analysis += now() - t
        let encoded = frequencies.map { TermCodec.encode(lexical.termList($0)) }
        for (k, text) in texts.enumerated() {
            words += text.utf8.reduce(1) { $0 + ($1 == 32 ? 1 : 0) }
            textBytes += text.utf8.count
            postings += encoded[k].count / 6
            termBytes += encoded[k].count
        }
        let added = (newTerms..<lexical.terms.count).map { (id: $0, term: lexical.terms[$0]) }
        newTerms = lexical.terms.count
        for (v, store) in stores.enumerated() {
            let docs = (0..<range.count).map { k -> DocumentRow in
                let i = range.lowerBound + k
                return DocumentRow(id: String(i), text: texts[k], chunks: [ChunkRow(label: UInt64(i + 1), documentId: String(i), ordinal: 0, text: texts[k],
                                                                            tokenStart: 0, tokenEnd: 0, vector: base[i], terms: v == 0 ? encoded[k] : [])])
            }
            t = now()
            try await store.write(BatchWrite(upserts: docs, newTerms: v == 0 ? added : []), to: spec.name)
            write[v] += now() - t
        }
        if range.upperBound % 100_000 == 0 { log("stored \(range.upperBound) (\(lexical.terms.count) terms)") }
    }
    for (v, store) in stores.enumerated() {
        t = now()
        try await store.write(BatchWrite(graph: GraphRecordChanges(header: GraphCodec.encode(graph.header, checksum: checksum), rows: rows,
                                                                   replacesAll: true), rotation: .some(r)), to: spec.name)
        write[v] += now() - t
    }
    out["text_generation_s"] = generation
    out["analysis_s"] = analysis
    out["analysis_us_per_chunk"] = analysis / Double(n) * 1e6
    out["words_per_chunk"] = Double(words) / Double(n)
    out["text_bytes_per_chunk"] = Double(textBytes) / Double(n)
    out["terms_per_chunk"] = Double(postings) / Double(n)
    out["term_list_bytes_per_chunk"] = Double(termBytes) / Double(n)
    out["distinct_terms"] = lexical.terms.count
    log("analysed \(n) texts in \(String(format: "%.1f", analysis)) s; \(lexical.terms.count) distinct terms, \(Double(postings) / Double(n)) per chunk")
    for (v, p) in paths.enumerated() {
        var o = out
        o["variant"] = v == 0 ? "with_terms" : "without_terms"
        o["store_s"] = write[v]
        try writeJSON(o, to: p + ".built.json")
    }
    return out
}

func percentile(_ x: [Double], _ p: Double) -> Double {
    let s = x.sorted()
    return s.isEmpty ? 0 : s[min(s.count - 1, Int((Double(s.count) * p).rounded(.down)))]
}

/// Ingest with and without lexical terms, then search latency by mode (see above).
func hybridBench(texts: [String], queryTexts: [String], d: Int, dir: String, n: Int, batch: Int, nq: Int) async throws -> [String: Any] {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let paths = [dir + "/ingest-with.sqlite", dir + "/ingest-without.sqlite"]
    for p in paths { for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: p + suffix) } }
    let all = synthetic(count: n + nq, dimension: d)
    let base = Array(all.prefix(n)), queries = Array(all.suffix(nq))
    let spec = CollectionSpec(name: "bench", model: "bench", dimensions: d, coarseDimensions: min(128, d))
    let logger = Logger(label: "bench")
    var indexes = [CollectionIndex]()
    for p in paths {
        let s = try SQLiteStore(path: p)
        try await s.migrate()
        try await s.createCollection(spec)
        indexes.append(try await CollectionIndex(spec: spec, store: s, logger: logger))
    }
    let analyzer = indexes[0].analyzer
    var total = [0.0, 0.0], apply = [0.0, 0.0], analysis = 0.0, fit = [0.0, 0.0]
    var fitted = false
    var batchRatios = [Double]()
    var words = 0
    for (b, start) in stride(from: 0, to: n, by: batch).enumerated() {
        let ids = start..<min(start + batch, n)
        var took = [0.0, 0.0]
        for v in b % 2 == 0 ? [0, 1] : [1, 0] {
            let t0 = now()
            // With terms: analysed as RetrievalService.ingest does before apply; without: none.
            let inputs = ids.map { i -> CollectionIndex.Input in
                let text = texts[i % texts.count]
                let chunk = CollectionIndex.Chunk(text: text, tokenStart: 0, tokenEnd: 0, vector: base[i],
                                                  terms: v == 0 ? Analyzer.frequencies(text, options: analyzer) : [:])
                return CollectionIndex.Input(id: "d\(i)", text: text, chunks: [chunk])
            }
            let t1 = now()
            try await indexes[v].apply(upserts: inputs)
            let t2 = now()
            if v == 0 { analysis += t1 - t0 }
            apply[v] += t2 - t1
            total[v] += t2 - t0
            took[v] = t2 - t0
        }
        for i in ids { words += texts[i % texts.count].utf8.reduce(1) { $0 + ($1 == 32 ? 1 : 0) } }
        batchRatios.append(took[1] / took[0])
        // The service fits the coarse basis once a collection holds 1,000 chunks (and 2× its dimension).
        if !fitted, ids.upperBound >= max(1_000, 2 * d), min(128, d) < d {
            for (v, index) in indexes.enumerated() {
                let t = now()
                let vs = index.vectors()
                try await index.rebuild(rotation: try PCA.axes(of: vs.flatMap { $0.vector }, count: vs.count, dimension: d, rows: min(128, d)))
                fit[v] = now() - t
            }
            fitted = true
        }
        if ids.upperBound % 10_000 < batch {
            log("ingested \(ids.upperBound): with terms \(Int(Double(ids.upperBound) / total[0])) chunks/s, without \(Int(Double(ids.upperBound) / total[1])) chunks/s")
        }
    }
    var out: [String: Any] = ["n": n, "batch": batch, "dimension": d, "coarse": min(128, d), "words_per_chunk": Double(words) / Double(n)]
    out["ingest"] = [
        "with_terms_chunks_per_s": Double(n) / total[0], "without_terms_chunks_per_s": Double(n) / total[1],
        "ratio_with_over_without": total[1] / total[0],
        "with_terms_apply_only_chunks_per_s": Double(n) / apply[0], "apply_only_ratio": apply[1] / apply[0],
        "analysis_s": analysis, "analysis_us_per_chunk": analysis / Double(n) * 1e6,
        "with_terms_s": total[0], "without_terms_s": total[1], "pca_fit_and_rebuild_s": fit,
        "batch_ratio_p10": percentile(batchRatios, 0.1), "batch_ratio_p50": percentile(batchRatios, 0.5), "batch_ratio_p90": percentile(batchRatios, 0.9),
        "distinct_terms": indexes[0].state.read { $0.lexical.terms.count },
    ] as [String: Any]
    log("ingest: with terms \(Int(Double(n) / total[0])) chunks/s, without \(Int(Double(n) / total[1])) chunks/s, ratio \(String(format: "%.3f", total[1] / total[0]))")

    // Search: the lexical store, the service's defaults (top_k 10, depth max(100, f·10) with f
    // calibrated, ef max(depth, 64), fusion depth 100, RRF k 60), the three modes in turn.
    let index = indexes[0]
    let factor = index.calibrateDepth()?.factor
    var searches = [[String: Any]]()
    // At the calibrated depth (as served), and at depth 100 (f = 10, the uncalibrated default).
    for depth in Array(Set([max(100, (factor ?? 10) * 10), 100])).sorted(by: >) {
        searches.append(searchLatency(index, queries: queries, queryTexts: queryTexts, depth: depth, factor: factor))
    }
    out["search"] = searches
    return out
}

/// Dense, hybrid and lexical search, one query at a time, the three modes interleaved query by
/// query (the order rotating), after a warm-up of 100 queries.
func searchLatency(_ index: CollectionIndex, queries: [[Float]], queryTexts: [String], depth: Int, factor: Int?) -> [String: Any] {
    let nq = queries.count
    let modes: [SearchMode] = [.dense, .hybrid, .lexical]
    var latency = [SearchMode: [Double]](), lexicalStage = [Double](), fusionStage = [Double](), lexicalHits = [Double]()
    func options(_ mode: SearchMode, _ q: Int) -> SearchOptions {
        SearchOptions(topK: 10, rerankDepth: depth, ef: max(depth, 64), exactBelow: 3_000, mode: mode, fusionDepth: 100, text: queryTexts[q % queryTexts.count])
    }
    for q in 0..<min(100, nq) { for mode in modes { _ = index.search(queries[q], options(mode, q)) } }  // warm-up
    for q in 0..<nq {
        for k in 0..<modes.count {
            let mode = modes[(q + k) % modes.count]
            let o = options(mode, q)
            let t = now()
            let outcome = index.search(queries[q], o)
            latency[mode, default: []].append(now() - t)
            if mode == .hybrid {
                lexicalStage.append(outcome.lexicalSeconds)
                fusionStage.append(outcome.fusionSeconds)
            }
            if mode == .lexical { lexicalHits.append(Double(outcome.hits.count)) }
        }
    }
    var search: [String: Any] = ["queries": nq, "chunks": index.state.read(\.chunkCount), "rerank_depth": depth, "ef": max(depth, 64),
                                 "depth_factor_calibrated": factor.map { $0 as Any } ?? NSNull(),
                                 "hybrid_lexical_stage_ms_p50": percentile(lexicalStage, 0.5) * 1000,
                                 "hybrid_fusion_stage_ms_p50": percentile(fusionStage, 0.5) * 1000,
                                 "lexical_queries_with_hits": Double(lexicalHits.filter { $0 > 0 }.count) / Double(max(1, lexicalHits.count))]
    for mode in modes {
        let l = latency[mode] ?? []
        search[mode.rawValue] = ["p50_ms": percentile(l, 0.5) * 1000, "p90_ms": percentile(l, 0.9) * 1000, "p99_ms": percentile(l, 0.99) * 1000,
                                 "mean_ms": l.reduce(0, +) / Double(max(1, l.count)) * 1000]
        log("depth \(depth) \(mode.rawValue): p50 \(String(format: "%.3f", percentile(l, 0.5) * 1000)) ms, p99 \(String(format: "%.3f", percentile(l, 0.99) * 1000)) ms")
    }
    let d50 = percentile(latency[.dense] ?? [], 0.5), h50 = percentile(latency[.hybrid] ?? [], 0.5)
    let d99 = percentile(latency[.dense] ?? [], 0.99), h99 = percentile(latency[.hybrid] ?? [], 0.99)
    search["ratio_hybrid_over_dense_p50"] = h50 / d50
    search["ratio_hybrid_over_dense_p99"] = h99 / d99
    return search
}

/// Where a start-up's lexical time goes: the same reads and steps `CollectionIndex` takes
/// (term table, BM25 index over it, chunk rows, per-chunk decode and add), one after another on
/// one thread, each timed.
func lexicalLoadBreakdown(dbPath: String) async throws -> [String: Any] {
    let store = try SQLiteStore(path: dbPath)
    var out = [String: Any]()
    var t = now()
    let terms = try await store.lexicalTerms(in: "bench")
    out["read_term_table_s"] = now() - t
    t = now()
    var index = BM25Index(terms: terms)
    out["index_term_table_s"] = now() - t
    t = now()
    let chunks = try await store.chunkVectors(in: "bench")
    out["read_chunk_rows_s"] = now() - t
    t = now()
    var lists = [[BM25Index.TermFrequency]]()
    lists.reserveCapacity(chunks.count)
    for i in 0..<chunks.count { lists.append(TermCodec.decode(chunks.terms(at: i), termCount: terms.count) ?? []) }
    out["decode_term_lists_s"] = now() - t
    // The same decoding written over contiguous bytes in this module (specialised, no generic
    // iterator): what `TermCodec.decode` costs without the per-byte generic calls.
    t = now()
    var fast = [[BM25Index.TermFrequency]]()
    fast.reserveCapacity(chunks.count)
    for i in 0..<chunks.count { fast.append(decodeContiguous(chunks.terms(at: i), termCount: terms.count) ?? []) }
    out["decode_term_lists_contiguous_s"] = now() - t
    out["contiguous_decode_equal"] = fast.count == lists.count && zip(fast, lists).allSatisfy { $0 == $1 }
    fast = []
    t = now()
    for i in 0..<chunks.count { index.add(chunks.labels[i], lists[i]) }
    out["add_to_postings_s"] = now() - t
    out["chunks"] = chunks.count
    out["terms"] = terms.count
    log("lexical load breakdown: \(out)")
    withExtendedLifetime(index) {}
    return out
}

func decodeContiguous(_ bytes: ArraySlice<UInt8>, termCount: Int) -> [BM25Index.TermFrequency]? {
    guard bytes.count % 6 == 0 else { return nil }
    return bytes.withUnsafeBytes { raw -> [BM25Index.TermFrequency]? in
        var out = [BM25Index.TermFrequency]()
        out.reserveCapacity(raw.count / 6)
        var o = 0
        while o < raw.count {
            let term = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))
            guard Int(term) < termCount else { return nil }
            out.append(BM25Index.TermFrequency(term: term, tf: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o + 4, as: UInt16.self))))
            o += 6
        }
        return out
    }
}

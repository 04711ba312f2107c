import EmbeddingEngine
import Foundation
import HNSW
import Lexical
import Logging
import NestorCore
import StoreSQLite
import TensorOps
import VectorMath

/// The index side of Nestor, measured on real vectors; driven by Benchmarks/index/run.py, which
/// runs hnswlib and faiss on the same vectors in the same run and draws the curves.
///
///     IndexBenchmark embed MODEL_DIR TEXTS.txt OUT.f32 [PROMPT_NAME [BATCH]]
///     IndexBenchmark curves BASE.f32 QUERIES.f32 TRUTH.i32 KTH.f32 DIM OUT.json [M EF_CONSTRUCTION COARSE]
///     IndexBenchmark load (BASE.f32 | synthetic:COUNT) DIM DB.sqlite OUT.json [M EF_CONSTRUCTION COARSE]
///     IndexBenchmark crossover (BASE.f32 | synthetic:COUNT) DIM OUT.json [QUERIES]
///     IndexBenchmark lexstore synthetic:COUNT DIM DIR VOCAB.txt [...]   (Lexical.swift)
///     IndexBenchmark hybrid CHUNKS.txt QUERIES.txt DIM DIR OUT.json [...]  (Lexical.swift)
///         (exact full scan vs the two-stage default at growing collection sizes: where the
///         planner's exact-search threshold should sit)
///         (stores the collection in DB.sqlite unless it is there from an earlier run, then
///         times opening it)
///
/// `.f32` files are row-major little-endian float32; `TRUTH.i32` holds each query's exact top-10
/// base rows and `KTH.f32` its 10th-best cosine score. Recall@10 is reported two ways: a result
/// counts when it scores at least the 10th best (ties with duplicate vectors are all correct,
/// as in ann-benchmarks), and strictly, when it is one of the ten rows exact search returns. Every search runs on one thread, one query at a time, through the
/// service's own search path (`SearchState.search`).
let args = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
    exit(2)
}
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func log(_ s: String) { FileHandle.standardError.write(Data("\(s)\n".utf8)) }

/// Memory this process owns, in bytes: resident pages less file-backed ones. SQLite maps
/// the database file for reading, and those pages are the kernel's page cache (shared,
/// droppable), which a `read(2)` would have filled just the same without showing in RSS.
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ").compactMap { Int($0) }
    return fields.count > 2 ? (fields[1] - fields[2]) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func readFloats(_ path: String) -> [Float] {
    guard let d = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

func writeJSON(_ object: Any, to path: String) throws {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: path))
}

func rows(_ flat: [Float], _ d: Int) -> [[Float]] { stride(from: 0, to: flat.count, by: d).map { Array(flat[$0..<$0 + d]) } }

/// The PCA rotation a collection would fit (first 50k vectors, like `optimize`).
func rotation(_ base: [[Float]], dimension d: Int, coarse: Int) throws -> [Float] {
    let sample = base.prefix(50_000)
    return try PCA.axes(of: sample.flatMap { $0 }, count: sample.count, dimension: d, rows: coarse)
}

// MARK: embed

/// Embeds one text per line into OUT.f32 (input order). Without BATCH the texts go to the
/// engine sorted by length, 64 at a time (fastest); with it, BATCH at a time in file order, the
/// way an ingest client sends them. Prints {"texts", "seconds"}.
func embed(_ modelDir: String, _ textsPath: String, _ outPath: String, prompt: String?, batchSize: Int?) async throws {
    let engine = try LocalEmbedder(folder: URL(fileURLWithPath: modelDir))
    let texts = try String(contentsOfFile: textsPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        .map(String.init).filter { !$0.isEmpty }
    let order = batchSize == nil ? texts.indices.sorted { texts[$0].utf8.count < texts[$1].utf8.count } : Array(texts.indices)
    let size = batchSize ?? 64
    var out = [Float](repeating: 0, count: texts.count * engine.info.dimensions)
    let start = now()
    var done = 0
    for batch in stride(from: 0, to: order.count, by: size).map({ Array(order[$0..<min($0 + size, order.count)]) }) {
        let vectors = try await engine.embed(batch.map { .text(texts[$0]) }, options: EmbedOptions(promptName: prompt)).vectors
        for (i, v) in zip(batch, vectors) { out.replaceSubrange(i * v.count..<(i + 1) * v.count, with: v) }
        done += batch.count
        if done / 6400 != (done - batch.count) / 6400 { log("embedded \(done)/\(texts.count) (\(Int(Double(done) / (now() - start))) texts/s)") }
    }
    let seconds = now() - start
    log("embedded \(texts.count) texts in \(String(format: "%.1f", seconds)) s")
    try out.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: outPath))
    print(String(decoding: try JSONSerialization.data(withJSONObject: ["texts": texts.count, "seconds": seconds]), as: UTF8.self))
}

// MARK: curves

struct Curve {
    var name: String
    var spec: CollectionSpec
    var rotation: [Float]?
    /// (depth, ef) settings: depth 0 = the graph's own scores (one stage).
    var settings: [(depth: Int, ef: Int)]
}

func curves(base flat: [Float], queries qflat: [Float], truth: [Int32], kth: [Float], d: Int, m: Int, efc: Int, coarse: Int) throws -> [String: Any] {
    let base = rows(flat, d), queries = rows(qflat, d)
    let chunks = base.enumerated().map { (label: UInt64($0.offset + 1), documentId: String($0.offset), vector: $0.element) }
    let k = 10
    let truthSets = (0..<queries.count).map { q in Set(truth[(q * k)..<(q * k + k)].map { UInt64($0) + 1 }) }
    func strictlyCorrect(_ q: Int, _ hits: [SearchHit]) -> Int { hits.prefix(k).filter { truthSets[q].contains($0.label) }.count }
    func correct(_ q: Int, _ hits: [SearchHit]) -> Int {
        Set(hits.prefix(k).map(\.label)).filter { VectorMath.dot(queries[q], base[Int($0) - 1]) >= kth[q] - 1e-5 }.count
    }
    func spec(_ c: Int) -> CollectionSpec {
        CollectionSpec(name: "bench", model: "bench", dimensions: d, coarseDimensions: c, m: m, efConstruction: efc)
    }
    let efs = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    let depths = [10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480]
    var configs = [Curve(name: "nestor_full", spec: spec(d), rotation: nil, settings: efs.map { (0, $0) })]
    if coarse < d {
        configs.append(Curve(name: "nestor_two_stage_raw", spec: spec(coarse), rotation: nil, settings: depths.map { ($0, $0) }))
        let t = now()
        let r = try rotation(base, dimension: d, coarse: coarse)
        log("PCA fit in \(String(format: "%.2f", now() - t)) s")
        configs.append(Curve(name: "nestor_two_stage_pca", spec: spec(coarse), rotation: r, settings: depths.map { ($0, $0) }))
    }
    // NESTOR_BENCH_CURVES=full,pca,raw picks curves (all by default).
    let wanted = ProcessInfo.processInfo.environment["NESTOR_BENCH_CURVES"].map { Set($0.split(separator: ",").map { "nestor_" + $0 }) }
    configs = configs.filter { c in wanted.map { w in w.contains { c.name == $0 || c.name.hasSuffix(String($0.dropFirst(7))) } } ?? true }
    var out: [String: Any] = ["n": base.count, "queries": queries.count, "dimension": d, "m": m, "ef_construction": efc, "coarse": coarse]
    for c in configs {
        let memoryBefore = residentBytes()
        let t = now()
        let state = SearchState(spec: c.spec, projection: CoarseProjection(full: d, coarse: c.spec.coarseDimensions, rotation: c.rotation),
                                chunks: chunks)
        let build = now() - t
        log("\(c.name): built over \(chunks.count) vectors in \(String(format: "%.1f", build)) s")
        let visited = VisitedSet()
        var points = [[String: Any]]()
        for s in c.settings {
            let options = SearchOptions(topK: k, rerankDepth: s.depth, ef: s.ef)
            // Best of three rounds of at least half a second, as run.py times the peers.
            var results = [[SearchHit]]()
            var qps = 0.0
            for _ in 0..<3 {
                var passes = 0
                let start = now()
                repeat {
                    results.removeAll(keepingCapacity: true)
                    for query in queries { results.append(state.search(query, options, visited: visited).hits) }
                    passes += 1
                } while now() - start < 0.5
                qps = max(qps, Double(passes * queries.count) / (now() - start))
            }
            let hits = results.indices.reduce(0) { $0 + correct($1, results[$1]) }
            let strict = Double(results.indices.reduce(0) { $0 + strictlyCorrect($1, results[$1]) }) / Double(queries.count * k)
            let recall = Double(hits) / Double(queries.count * k)
            points.append(["depth": s.depth, "ef": s.ef, "recall": recall, "recall_strict": strict, "qps": qps])
            log("  depth \(s.depth) ef \(s.ef): recall@10 \(String(format: "%.4f", recall)) (strict \(String(format: "%.4f", strict))), \(Int(qps)) QPS")
        }
        out[c.name] = ["build_s": build, "memory_bytes": residentBytes() - memoryBefore, "points": points]
        withExtendedLifetime(state) {}
    }
    return out
}

// MARK: load

/// Unit vectors around 1,000 random centres: clustered like real embeddings, so the graph and
/// the PCA behave as they do on real data, at any size without embedding anything.
func synthetic(count: Int, dimension d: Int) -> [[Float]] {
    var state: UInt64 = 0x5EED
    func gaussian() -> Float {
        func unit() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 1) / 9_007_199_254_740_992
        }
        return Float((-2 * Foundation.log(unit())).squareRoot() * cos(2 * Double.pi * unit()))
    }
    let centres = (0..<1000).map { _ in (0..<d).map { _ in gaussian() } }
    return (0..<count).map { i in
        let c = centres[i % centres.count]
        return VectorNorm.unit((0..<d).map { c[$0] + 0.6 * gaussian() })
    }
}

enum VectorNorm {
    static func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
}

/// Stores a collection of `base` (as the service would after ingest and a PCA fit) in a fresh
/// SQLite file, unless `dbPath` already holds one (files of a million vectors take minutes to
/// build, and are kept between runs).
func store(base: () -> [[Float]], d: Int, dbPath: String, m: Int, efc: Int, coarse: Int) async throws -> [String: Any] {
    let sidecar = dbPath + ".built.json"
    if FileManager.default.fileExists(atPath: dbPath), let data = FileManager.default.contents(atPath: sidecar),
       let built = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
        return built
    }
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dbPath + suffix) }
    let base = base()
    var out: [String: Any] = ["n": base.count, "dimension": d, "coarse": coarse, "m": m, "ef_construction": efc]
    let spec = CollectionSpec(name: "bench", model: "bench", dimensions: d, coarseDimensions: coarse, m: m, efConstruction: efc)
    var t = now()
    let r = coarse < d ? try rotation(base, dimension: d, coarse: coarse) : nil
    let chunks = base.enumerated().map { (label: UInt64($0.offset + 1), documentId: String($0.offset), vector: $0.element) }
    var graph = SearchState(spec: spec, projection: CoarseProjection(full: d, coarse: coarse, rotation: r), chunks: chunks).graph
    out["build_s"] = now() - t
    log("built \(base.count) in \(String(format: "%.1f", now() - t)) s")
    t = now()
    let store = try SQLiteStore(path: dbPath)
    try await store.migrate()
    try await store.createCollection(spec)
    _ = graph.takeDirtyNodes()
    let rows = (0..<Int32(graph.nodeCount)).map { GraphRecordRow(node: Int($0), bytes: GraphCodec.encode(graph.record($0))) }
    let checksum = rows.reduce(UInt64(0)) { $0 &+ GraphCodec.hash(node: $1.node, $1.bytes) }
    // Each chunk gets a short synthetic text, so the lexical index is stored and loaded too.
    var lexical = BM25Index()
    let words = (0..<5_000).map { "w\($0)" }
    var newTerms = 0
    // Documents go in batches (as ingest writes them), the graph in one replacing write.
    for start in stride(from: 0, to: base.count, by: 10_000) {
        let docs = (start..<min(start + 10_000, base.count)).map { i -> DocumentRow in
            let text = (0..<20).map { words[(i &* 2_654_435_761 &+ $0 &* 40_503) % words.count] }.joined(separator: " ")
            let terms = TermCodec.encode(lexical.termList(Analyzer.frequencies(text)))
            return DocumentRow(id: String(i), text: text, chunks: [ChunkRow(label: UInt64(i + 1), documentId: String(i), ordinal: 0, text: text,
                                                                           tokenStart: 0, tokenEnd: 0, vector: base[i], terms: terms)])
        }
        let added = (newTerms..<lexical.terms.count).map { (id: $0, term: lexical.terms[$0]) }
        newTerms = lexical.terms.count
        try await store.write(BatchWrite(upserts: docs, newTerms: added), to: spec.name)
    }
    try await store.write(BatchWrite(graph: GraphRecordChanges(header: GraphCodec.encode(graph.header, checksum: checksum), rows: rows,
                                                               replacesAll: true), rotation: .some(r)), to: spec.name)
    out["store_s"] = now() - t
    log("stored in \(String(format: "%.1f", now() - t)) s")
    try writeJSON(out, to: sidecar)
    return out
}

/// What a restart costs: opening the file, loading and verifying the collection.
func load(dbPath: String, built: [String: Any]) async throws -> [String: Any] {
    var out = built
    out["file_bytes"] = (try? FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int) ?? 0
    let before = residentBytes()
    let t = now()
    let store = try SQLiteStore(path: dbPath)
    guard let spec = try await store.collection(named: "bench") else { fail("\(dbPath) has no collection bench") }
    let index = try await CollectionIndex(spec: spec, store: store, logger: Logger(label: "bench"))
    let seconds = now() - t
    let count = index.state.read(\.chunkCount)
    out["load_s"] = seconds
    out["loaded_intact"] = index.loadedIntact
    out["memory_bytes_per_vector"] = Double(residentBytes() - before) / Double(count)
    let (lexicalChunks, terms) = index.state.read { ($0.lexical.count, $0.lexical.terms.count) }
    out["lexical_chunks"] = lexicalChunks
    out["lexical_terms"] = terms
    log("loaded \(count) vectors in \(String(format: "%.2f", seconds)) s (intact: \(index.loadedIntact))")
    return out
}

// MARK: main

// MARK: crossover

/// For collection sizes from 500 up to the base's size: the median time of an exact full scan
/// and of the two-stage default (128-d PCA coarse graph, rerank depth 100), each query alone on
/// one thread through `SearchState.search`, the two alternated query by query.
func crossover(base: [[Float]], d: Int, queries: Int) throws -> [String: Any] {
    let qs = Array(base.suffix(queries))
    let pool = Array(base.dropLast(queries))
    var sizes = [500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 100_000].filter { $0 <= pool.count }
    if sizes.isEmpty { sizes = [pool.count] }
    var rows = [[String: Any]]()
    let coarse = min(128, d)
    for n in sizes {
        let part = Array(pool.prefix(n))
        let spec = CollectionSpec(name: "x", model: "x", dimensions: d, coarseDimensions: coarse)
        let r = coarse < d ? try rotation(part, dimension: d, coarse: coarse) : nil
        let projection = CoarseProjection(full: d, coarse: coarse, rotation: r)
        let state = SearchState(spec: spec, projection: projection,
                                chunks: part.enumerated().map { (label: UInt64($0.offset + 1), documentId: String($0.offset), vector: $0.element) })
        let visited = VisitedSet()
        var exact = [Double](), two = [Double]()
        for q in qs {
            let t0 = now()
            _ = state.search(q, SearchOptions(topK: 10, exact: true), visited: visited)
            let t1 = now()
            _ = state.search(q, SearchOptions(topK: 10, rerankDepth: 100, ef: 100), visited: visited)
            let t2 = now()
            exact.append(t1 - t0)
            two.append(t2 - t1)
        }
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] * 1000 }
        let row: [String: Any] = ["chunks": n, "exact_ms": median(exact), "two_stage_ms": median(two)]
        log("\(n): exact \(String(format: "%.3f", median(exact))) ms, two-stage \(String(format: "%.3f", median(two))) ms")
        rows.append(row)
    }
    return ["dimension": d, "queries": qs.count, "sizes": rows]
}

func int(_ i: Int, _ fallback: Int) -> Int { args.count > i ? Int(args[i]) ?? fallback : fallback }

switch args.first {
case "embed" where args.count >= 4:
    try await embed(args[1], args[2], args[3], prompt: args.count > 4 && !args[4].isEmpty ? args[4] : nil,
                    batchSize: args.count > 5 ? Int(args[5]) : nil)
case "curves" where args.count >= 7:
    let d = Int(args[5]) ?? 0
    let truth = FileManager.default.contents(atPath: args[3]).map { $0.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) } } ?? []
    let result = try curves(base: readFloats(args[1]), queries: readFloats(args[2]), truth: truth, kth: readFloats(args[4]), d: d,
                            m: int(7, 16), efc: int(8, 200), coarse: int(9, 128))
    try writeJSON(result, to: args[6])
case "crossover" where args.count >= 4:
    let d = Int(args[2]) ?? 0
    let base: [[Float]] = args[1].hasPrefix("synthetic:") ? synthetic(count: Int(args[1].dropFirst(10)) ?? 0, dimension: d) : rows(readFloats(args[1]), d)
    try writeJSON(try crossover(base: base, d: d, queries: int(4, 200)), to: args[3])
case "load" where args.count >= 5:
    let d = Int(args[2]) ?? 0
    let source = args[1]
    let built = try await store(base: { source.hasPrefix("synthetic:") ? synthetic(count: Int(source.dropFirst(10)) ?? 0, dimension: d)
                                                                       : rows(readFloats(source), d) },
                                d: d, dbPath: args[3], m: int(5, 16), efc: int(6, 200), coarse: int(7, 128))
    try writeJSON(try await load(dbPath: args[3], built: built), to: args[4])
case "lexstore" where args.count >= 5 && args[1].hasPrefix("synthetic:"):
    let d = Int(args[2]) ?? 0
    let head = lines(args[4])
    let built = try await storeLexical(count: Int(args[1].dropFirst(10)) ?? 0, d: d, dir: args[3], head: head,
                                       vocabularySize: int(5, 1_000_000), meanWords: int(6, 100), m: int(7, 16), efc: int(8, 200), coarse: int(9, 128))
    print(String(decoding: try JSONSerialization.data(withJSONObject: built, options: [.sortedKeys]), as: UTF8.self))
case "lexload" where args.count >= 3:
    try writeJSON(try await lexicalLoadBreakdown(dbPath: args[1]), to: args[2])
case "hybrid" where args.count >= 6:
    let result = try await hybridBench(texts: lines(args[1]), queryTexts: lines(args[2]), d: Int(args[3]) ?? 0, dir: args[4],
                                       n: int(6, 100_000), batch: int(7, 64), nq: int(8, 1_000))
    try writeJSON(result, to: args[5])
default:
    fail("usage: IndexBenchmark embed MODEL_DIR TEXTS.txt OUT.f32 [PROMPT [BATCH]] | curves BASE QUERIES TRUTH KTH DIM OUT.json [M EFC COARSE] | load BASE|synthetic:N DIM DB OUT.json [M EFC COARSE] | crossover BASE|synthetic:N DIM OUT.json [QUERIES] | lexstore synthetic:N DIM DIR VOCAB.txt [VOCAB_SIZE MEAN_WORDS M EFC COARSE] | hybrid CHUNKS.txt QUERIES.txt DIM DIR OUT.json [N BATCH QUERIES]")
}

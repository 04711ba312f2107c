import Foundation
import Logging
import NestorCore
import TensorOps

/// Collections, ingest and search over one embedder and one store. The actor only guards the
/// table of loaded collections and the background work; embedding, searching and writing run
/// outside it, so requests to different collections, and searches on one collection, proceed
/// in parallel. Background work (a coarse-basis fit) is awaited by `settle()`, which `serve`
/// calls after the server has drained and before the store closes.
public actor RetrievalService {
    let store: any IndexStore
    public nonisolated let embedder: any Embedder
    /// The cross-encoder for `/search`'s rerank stage, when one is served.
    public nonisolated let reranker: (any Reranker)?
    public nonisolated let settings: RetrievalSettings
    /// This process's place among the replicas of its store (standalone on SQLite).
    public nonisolated let replica: ReplicaState
    let logger: Logger
    var loaded: [String: CollectionIndex] = [:]
    var unavailable: [String: (spec: CollectionSpec, reason: String)] = [:]
    /// At most one coarse-basis fit per collection at a time.
    private var refits: [String: Task<Void, Never>] = [:]

    /// Opens every stored collection. One built with another model, or whose stored data cannot
    /// be served, stays listed but refuses requests with the reason (and a log line), rather
    /// than stopping the server or returning vectors from a different space. A follower reads
    /// through `source` (its snapshot of the database) and writes nothing.
    public init(store: any IndexStore, embedder: any Embedder, reranker: (any Reranker)? = nil, settings: RetrievalSettings = RetrievalSettings(),
                replica: ReplicaState = ReplicaState(), loadingFrom source: (any IndexStore)? = nil,
                logger: Logger = Logger(label: "nestor.retrieval")) async throws {
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.settings = settings
        self.replica = replica
        self.logger = logger
        (loaded, unavailable) = try await Self.load(source ?? store, store: store, info: embedder.info, replica: replica, logger: logger)
        // Calibrations live in memory: measure again in the background after a start.
        for index in loaded.values { scheduleRefit(index) }
    }

    /// Every stored collection, loaded (or set aside with the reason it cannot be served).
    static func load(_ source: any IndexStore, store: any IndexStore, info: EmbedderInfo, replica: ReplicaState, logger: Logger) async throws
        -> (loaded: [String: CollectionIndex], unavailable: [String: (spec: CollectionSpec, reason: String)])
    {
        var loaded = [String: CollectionIndex](), unavailable = [String: (spec: CollectionSpec, reason: String)]()
        for spec in try await source.collections() {
            if let reason = Self.mismatch(spec, info) ?? spec.problem.map({ "collection \(spec.name) cannot be served: \($0)" }) {
                logger.error("collection \(spec.name) is unavailable: \(reason)")
                unavailable[spec.name] = (spec, reason)
                continue
            }
            do {
                let index = try await CollectionIndex(spec: spec, store: store, loadingFrom: source, replica: replica, logger: logger)
                loaded[spec.name] = index
                logger.info("loaded collection \(spec.name)", metadata: ["chunks": "\(index.state.read(\.chunkCount))"])
            } catch let e as StoreError where e.code == .corrupt {
                let reason = "collection \(spec.name) cannot be served: its stored data is damaged (\(e.message)); delete it and ingest again"
                logger.error("\(reason)")
                unavailable[spec.name] = (spec, reason)
            }
        }
        return (loaded, unavailable)
    }

    static func mismatch(_ spec: CollectionSpec, _ info: EmbedderInfo) -> String? {
        guard spec.model != info.name || spec.dimensions != info.dimensions else { return nil }
        return "collection \(spec.name) was built with model \(spec.model) (\(spec.dimensions) dimensions) but this server runs "
            + "\(info.name) (\(info.dimensions)); serve that model, or delete the collection and ingest again"
    }

    /// Waits until no background work is running (tests; shutdown).
    public func settle() async {
        while let (name, task) = refits.first {
            await task.value
            if refits[name] == task { refits[name] = nil }
        }
    }

    // MARK: collections

    /// Creates a collection, or returns the existing one when every setting the request gives
    /// matches it (so clients can get-or-create without racing on 409); `created` says which.
    public func createCollection(_ r: CollectionRequest) async throws -> (info: CollectionInfo, created: Bool) {
        try requireWriter()
        let name = r.name
        // "." and ".." would vanish from a URL path (clients normalise them away), so a name needs
        // one character that is not a dot.
        guard !name.isEmpty, name.utf8.count <= 128, name.contains(where: { $0 != "." }), name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }) else {
            throw RetrievalError(.invalid, "'name' must be 1–128 characters of A–Z, a–z, 0–9, '-', '_', '.', not only dots", param: "name")
        }
        let info = embedder.info
        let coarse = r.coarseDimensions ?? defaultCoarse(info)
        guard coarse >= 1, coarse <= info.dimensions else {
            throw RetrievalError(.invalid, "'coarse_dimensions' must be between 1 and the model's \(info.dimensions), got \(coarse)", param: "coarse_dimensions")
        }
        let m = r.m ?? settings.defaultM, efc = r.efConstruction ?? settings.defaultEfConstruction
        guard (2...128).contains(m) else { throw RetrievalError(.invalid, "'m' must be between 2 and 128, got \(m)", param: "m") }
        guard (1...4096).contains(efc) else {
            throw RetrievalError(.invalid, "'ef_construction' must be between 1 and 4096, got \(efc)", param: "ef_construction")
        }
        let k1 = r.bm25K1 ?? 1.2, b = r.bm25B ?? 0.75, fold = r.foldDiacritics ?? false
        guard k1 >= 0, k1 <= 10 else { throw RetrievalError(.invalid, "'bm25_k1' must be between 0 and 10, got \(k1)", param: "bm25_k1") }
        guard b >= 0, b <= 1 else { throw RetrievalError(.invalid, "'bm25_b' must be between 0 and 1, got \(b)", param: "bm25_b") }
        if let u = unavailable[name] { throw RetrievalError(.conflict, "collection \(name) already exists and cannot be served: \(u.reason)", param: "name") }
        if let existing = loaded[name] {
            let s = existing.spec
            var differences = [String]()
            if let c = r.coarseDimensions, c != s.coarseDimensions { differences.append("coarse_dimensions \(s.coarseDimensions), asked \(c)") }
            if let x = r.m, x != s.m { differences.append("m \(s.m), asked \(x)") }
            if let x = r.efConstruction, x != s.efConstruction { differences.append("ef_construction \(s.efConstruction), asked \(x)") }
            if let x = r.bm25K1, x != s.bm25K1 { differences.append("bm25_k1 \(s.bm25K1), asked \(x)") }
            if let x = r.bm25B, x != s.bm25B { differences.append("bm25_b \(s.bm25B), asked \(x)") }
            if let x = r.foldDiacritics, x != s.foldDiacritics { differences.append("fold_diacritics \(s.foldDiacritics), asked \(x)") }
            guard differences.isEmpty else {
                throw RetrievalError(.conflict, "collection \(name) already exists with other settings (\(differences.joined(separator: "; ")))", param: "name")
            }
            return (describe(existing), false)
        }
        let spec = CollectionSpec(name: name, model: info.name, dimensions: info.dimensions, coarseDimensions: coarse, m: m, efConstruction: efc,
                                  bm25K1: k1, bm25B: b, foldDiacritics: fold)
        let position: LogPosition?
        do {
            position = try await store.createCollection(spec)
        } catch let e as StoreError where e.code == .alreadyExists {
            throw RetrievalError(.conflict, "collection \(name) already exists", param: "name")
        }
        let index = try await CollectionIndex(spec: spec, store: store, replica: replica, logger: logger)
        loaded[name] = index
        if let position { replica.published(position) }
        return (describe(index), true)
    }

    /// The collection to ingest into, created with the defaults when asked and missing.
    func indexForIngest(_ name: String, create: Bool) async throws -> CollectionIndex {
        if create, loaded[name] == nil, unavailable[name] == nil { _ = try await createCollection(CollectionRequest(name: name)) }
        return try index(name)
    }

    /// The model's smallest Matryoshka size when it declares them, else the service default.
    private func defaultCoarse(_ info: EmbedderInfo) -> Int {
        if case .only(let sizes) = info.matryoshka, let smallest = sizes.filter({ $0 > 0 }).min() {
            return min(smallest, info.dimensions)
        }
        return min(settings.defaultCoarseDimensions, info.dimensions)
    }

    public func collections() -> [CollectionInfo] {
        (loaded.values.map(describe) + unavailable.values.map(describeUnavailable)).sorted { $0.spec.name < $1.spec.name }
    }

    public func collection(_ name: String) throws -> CollectionInfo {
        if let u = unavailable[name] { return describeUnavailable(u) }
        return describe(try index(name))
    }

    @discardableResult
    public func deleteCollection(_ name: String) async throws -> Bool {
        try requireWriter()
        guard loaded[name] != nil || unavailable[name] != nil else { throw notFound(name) }
        let removed = try await store.deleteCollection(named: name)
        loaded[name] = nil
        unavailable[name] = nil
        if let position = removed.position { replica.published(position) }
        return removed.existed
    }

    /// Writes go to the writer: a follower's memory changes only through the log.
    nonisolated func requireWriter() throws {
        guard replica.acceptsWrites else {
            throw RetrievalError(.unavailable, "this replica is a follower and takes no writes"
                                 + (replica.writerURL.map { "; send them to the writer at \($0)" } ?? "; no writer is elected yet, retry shortly"))
        }
    }

    private func describe(_ index: CollectionIndex) -> CollectionInfo {
        index.state.read {
            CollectionInfo(spec: index.spec, documents: $0.documentCount, chunks: $0.chunkCount,
                           coarseBasis: $0.projection.rotation != nil ? "pca" : "prefix", terms: $0.lexical.terms.count,
                           graphNodes: $0.graph.nodeCount, deletedNodes: $0.graph.deletedCount)
        }
    }

    private func describeUnavailable(_ u: (spec: CollectionSpec, reason: String)) -> CollectionInfo {
        CollectionInfo(spec: u.spec, documents: 0, chunks: 0, coarseBasis: "prefix", unavailable: u.reason)
    }

    func index(_ name: String) throws -> CollectionIndex {
        if let i = loaded[name] { return i }
        if let u = unavailable[name] { throw RetrievalError(.conflict, u.reason) }
        throw notFound(name)
    }

    nonisolated func notFound(_ name: String) -> RetrievalError {
        RetrievalError(.notFound, "collection \(name) does not exist; create it with POST /collections", param: "collection")
    }

    // MARK: documents

    public func document(_ id: String, in collection: String) async throws -> DocumentRow? {
        _ = try index(collection)
        return try await store.document(id, in: collection)
    }

    /// A page of the collection's documents in id order. The cursor is opaque to clients (the
    /// last id of the previous page, encoded); nil when there are no more.
    public nonisolated func documents(in collection: String, limit: Int?, cursor: String?) async throws -> (documents: [DocumentSummary], nextCursor: String?) {
        _ = try await index(collection)
        let n = limit ?? 100
        guard (1...1000).contains(n) else { throw RetrievalError(.invalid, "'limit' must be between 1 and 1000, got \(n)", param: "limit") }
        var after: String?
        if let cursor {
            guard !cursor.isEmpty, let data = Data(base64Encoded: Self.unURLSafe(cursor)), let id = String(data: data, encoding: .utf8) else {
                throw RetrievalError(.invalid, "'cursor' is not one this server gave out", param: "cursor")
            }
            after = id
        }
        let page = try await store.documents(in: collection, after: after, limit: n + 1)
        let more = page.count > n
        let docs = Array(page.prefix(n))
        return (docs, more ? docs.last.map { Self.urlSafe(Data($0.id.utf8).base64EncodedString()) } : nil)
    }

    static func urlSafe(_ b64: String) -> String {
        b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unURLSafe(_ s: String) -> String {
        let t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return t + String(repeating: "=", count: (4 - t.count % 4) % 4)
    }

    /// Deletes a document durably; false when it was not stored.
    public nonisolated func deleteDocument(_ id: String, in collection: String) async throws -> Bool {
        try requireWriter()
        let index = try await index(collection)
        guard index.state.read({ $0.contains(document: id) }) else { return false }
        return try await index.apply(upserts: [], deletions: [id]).deleted.contains(id)
    }

    // MARK: coarse basis

    /// Fits the collection's PCA basis on its current vectors and rebuilds the graph over it
    /// (Matryoshka models keep their identity basis; so does a coarse size equal to the full one).
    public nonisolated func optimize(_ collection: String) async throws -> CollectionInfo {
        try requireWriter()
        let index = try await index(collection)
        try await refit(index, force: true)
        return try await self.collection(collection)
    }

    nonisolated var usesRotation: Bool { embedder.info.matryoshka == .none }

    /// Starts background work after a committed batch: a coarse-basis fit when the collection
    /// has just grown past its threshold (none once fitted), then a rerank-depth calibration
    /// when it is past the exact-search crossover and has doubled since the last one. One task
    /// at a time per collection; a failure is logged and searches keep what they have.
    func scheduleRefit(_ index: CollectionIndex) {
        let name = index.spec.name
        // A follower's coarse basis comes from the writer, through the log.
        guard replica.acceptsWrites, refits[name] == nil, needsRefit(index) || needsCalibration(index) else { return }
        let logger = logger
        refits[name] = Task {
            do {
                if self.needsRefit(index) { try await self.refit(index, force: false) }
                if self.needsCalibration(index) { index.calibrateDepth(target: self.settings.calibrationTarget) }
            } catch {
                logger.error("fitting the coarse basis of collection \(name) failed (searches keep the current one): \(error)")
            }
            self.refitFinished(name)
        }
    }

    nonisolated func needsCalibration(_ index: CollectionIndex) -> Bool {
        let (count, at, identity) = index.state.read { ($0.chunkCount, $0.calibratedAt, $0.projection.isIdentity) }
        return !identity && count > settings.exactSearchThreshold && count >= 2 * at
    }

    private func refitFinished(_ name: String) { refits[name] = nil }

    nonisolated func needsRefit(_ index: CollectionIndex) -> Bool {
        let spec = index.spec
        guard usesRotation, spec.coarseDimensions < spec.dimensions else { return false }
        let (count, fitted) = index.state.read { ($0.chunkCount, $0.projection.rotation != nil) }
        return !fitted && count >= max(settings.rotationMinimumVectors, 2 * spec.dimensions)
    }

    nonisolated func refit(_ index: CollectionIndex, force: Bool) async throws {
        let spec = index.spec
        guard usesRotation, spec.coarseDimensions < spec.dimensions else {
            if force { try await index.rebuild(rotation: nil) }
            return
        }
        let count = index.state.read(\.chunkCount)
        guard force ? count >= 2 : needsRefit(index) else { return }
        let all = index.vectors()
        let stride = max(1, all.count / settings.rotationSample)
        let sample = Swift.stride(from: 0, to: all.count, by: stride).flatMap { all[$0].vector }
        let axes = try PCA.axes(of: sample, count: sample.count / spec.dimensions, dimension: spec.dimensions, rows: spec.coarseDimensions)
        try await index.rebuild(rotation: axes)
        // A new basis makes a new graph: its depth is measured again.
        if count > settings.exactSearchThreshold { index.calibrateDepth(target: settings.calibrationTarget) }
    }
}

import Foundation
import Logging
import NestorCore
import TensorOps

/// Collections, ingest and search over one embedder and one store. The actor only guards the
/// table of loaded collections; embedding, searching and writing run outside it, so requests
/// to different collections, and searches on one collection, proceed in parallel.
public actor RetrievalService {
    let store: any DocumentStore
    public nonisolated let embedder: any Embedder
    let settings: RetrievalSettings
    let logger: Logger
    private var loaded: [String: CollectionIndex] = [:]
    private var unavailable: [String: (spec: CollectionSpec, reason: String)] = [:]

    /// Opens every stored collection; one built with another model stays listed but refuses
    /// requests with the reason, rather than returning vectors from a different space.
    public init(store: any DocumentStore, embedder: any Embedder, settings: RetrievalSettings = RetrievalSettings(),
                logger: Logger = Logger(label: "nestor.retrieval")) async throws {
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.logger = logger
        for spec in try await store.collections() {
            if let reason = Self.mismatch(spec, embedder.info) {
                logger.error("collection \(spec.name) is unavailable: \(reason)")
                unavailable[spec.name] = (spec, reason)
                continue
            }
            loaded[spec.name] = try await CollectionIndex(spec: spec, store: store, logger: logger)
            logger.info("loaded collection \(spec.name)", metadata: ["chunks": "\(loaded[spec.name]?.state.read(\.chunkCount) ?? 0)"])
        }
    }

    static func mismatch(_ spec: CollectionSpec, _ info: EmbedderInfo) -> String? {
        guard spec.model != info.name || spec.dimensions != info.dimensions else { return nil }
        return "collection \(spec.name) was built with model \(spec.model) (\(spec.dimensions) dimensions) but this server runs "
            + "\(info.name) (\(info.dimensions)); serve that model, or delete the collection and ingest again"
    }

    // MARK: collections

    public func createCollection(name: String, coarseDimensions: Int?, m: Int?, efConstruction: Int?) async throws -> CollectionInfo {
        guard !name.isEmpty, name.count <= 128, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }) else {
            throw RetrievalError(.invalid, "'name' must be 1–128 characters of A–Z, a–z, 0–9, '-', '_', '.'", param: "name")
        }
        let info = embedder.info
        let coarse = coarseDimensions ?? defaultCoarse(info)
        guard coarse >= 1, coarse <= info.dimensions else {
            throw RetrievalError(.invalid, "'coarse_dimensions' must be between 1 and the model's \(info.dimensions), got \(coarse)", param: "coarse_dimensions")
        }
        let m = m ?? 16, efc = efConstruction ?? 200
        guard (2...128).contains(m) else { throw RetrievalError(.invalid, "'m' must be between 2 and 128, got \(m)", param: "m") }
        guard (1...4096).contains(efc) else {
            throw RetrievalError(.invalid, "'ef_construction' must be between 1 and 4096, got \(efc)", param: "ef_construction")
        }
        guard loaded[name] == nil, unavailable[name] == nil else {
            throw RetrievalError(.conflict, "collection \(name) already exists", param: "name")
        }
        let spec = CollectionSpec(name: name, model: info.name, dimensions: info.dimensions, coarseDimensions: coarse,
                                  metric: .cosine, m: m, efConstruction: efc)
        do {
            try await store.createCollection(spec)
        } catch let e as StoreError where e.code == .alreadyExists {
            throw RetrievalError(.conflict, "collection \(name) already exists", param: "name")
        }
        let index = try await CollectionIndex(spec: spec, store: store, logger: logger)
        loaded[name] = index
        return describe(index)
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
        guard loaded[name] != nil || unavailable[name] != nil else { throw notFound(name) }
        let removed = try await store.deleteCollection(named: name)
        loaded[name] = nil
        unavailable[name] = nil
        return removed
    }

    private func describe(_ index: CollectionIndex) -> CollectionInfo {
        let (docs, chunks, rotated) = index.state.read { ($0.documentCount, $0.chunkCount, $0.projection.rotation != nil) }
        return CollectionInfo(spec: index.spec, documents: docs, chunks: chunks, coarseBasis: rotated ? "pca" : "prefix")
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

    public nonisolated func deleteDocument(_ id: String, in collection: String) async throws -> Bool {
        let index = try await index(collection)
        guard index.state.read({ $0.contains(document: id) }) else { return false }
        try await index.apply(upserts: [], deletions: [id])
        return true
    }

    // MARK: coarse basis

    /// Fits the collection's PCA basis on its current vectors and rebuilds the graph over it
    /// (Matryoshka models keep their identity basis; so does a coarse size equal to the full one).
    public nonisolated func optimize(_ collection: String) async throws -> CollectionInfo {
        let index = try await index(collection)
        try await refit(index, force: true)
        return try await self.collection(collection)
    }

    nonisolated var usesRotation: Bool { embedder.info.matryoshka == .none }

    func refit(_ index: CollectionIndex, force: Bool) async throws {
        let spec = index.spec
        guard usesRotation, spec.coarseDimensions < spec.dimensions else {
            if force { try await index.rebuild(rotation: nil) }
            return
        }
        let (count, fitted) = index.state.read { ($0.chunkCount, $0.projection.rotation != nil) }
        let enough = count >= max(settings.rotationMinimumVectors, 2 * spec.dimensions)
        guard force ? count >= 2 : (enough && !fitted) else { return }
        let all = index.vectors()
        let stride = max(1, all.count / settings.rotationSample)
        let sample = Swift.stride(from: 0, to: all.count, by: stride).flatMap { all[$0].vector }
        let axes = try PCA.axes(of: sample, count: sample.count / spec.dimensions, dimension: spec.dimensions, rows: spec.coarseDimensions)
        try await index.rebuild(rotation: axes)
    }
}

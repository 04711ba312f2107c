/// A collection: its model and the parameters of its index. Scores are cosine similarities
/// throughout (the engine's vectors are unit length), so no metric is stored per collection.
public struct CollectionSpec: Sendable, Equatable {
    public var name: String
    public var model: String
    public var dimensions: Int
    /// Dimensions of the coarse (first-stage) vectors the graph is built over.
    public var coarseDimensions: Int
    public var m: Int
    public var efConstruction: Int
    public var seed: UInt64
    /// The lexical side: BM25's k1 and b, and whether analysis folds diacritics.
    public var bm25K1: Double
    public var bm25B: Double
    public var foldDiacritics: Bool

    public init(name: String, model: String, dimensions: Int, coarseDimensions: Int, m: Int = 16, efConstruction: Int = 200,
                seed: UInt64 = 42, bm25K1: Double = 1.2, bm25B: Double = 0.75, foldDiacritics: Bool = false) {
        self.name = name
        self.model = model
        self.dimensions = dimensions
        self.coarseDimensions = coarseDimensions
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
        self.bm25K1 = bm25K1
        self.bm25B = bm25B
        self.foldDiacritics = foldDiacritics
    }

    /// Why stored parameters cannot be served (a database is input too), or nil.
    public var problem: String? {
        guard dimensions >= 1, dimensions <= 65_536 else { return "its dimension \(dimensions) is implausible" }
        guard coarseDimensions >= 1, coarseDimensions <= dimensions else {
            return "its coarse dimension \(coarseDimensions) is not between 1 and \(dimensions)"
        }
        guard (2...128).contains(m) else { return "its HNSW m \(m) is not between 2 and 128" }
        guard (1...4096).contains(efConstruction) else { return "its ef_construction \(efConstruction) is not between 1 and 4096" }
        guard bm25K1 >= 0, bm25K1 <= 10, bm25B >= 0, bm25B <= 1 else { return "its BM25 parameters k1 \(bm25K1), b \(bm25B) are out of range" }
        return nil
    }
}

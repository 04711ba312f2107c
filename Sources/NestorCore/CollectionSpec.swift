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

    public init(name: String, model: String, dimensions: Int, coarseDimensions: Int, m: Int = 16, efConstruction: Int = 200,
                seed: UInt64 = 42) {
        self.name = name
        self.model = model
        self.dimensions = dimensions
        self.coarseDimensions = coarseDimensions
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
    }

    /// Why stored parameters cannot be served (a database is input too), or nil.
    public var problem: String? {
        guard dimensions >= 1, dimensions <= 65_536 else { return "its dimension \(dimensions) is implausible" }
        guard coarseDimensions >= 1, coarseDimensions <= dimensions else {
            return "its coarse dimension \(coarseDimensions) is not between 1 and \(dimensions)"
        }
        guard (2...128).contains(m) else { return "its HNSW m \(m) is not between 2 and 128" }
        guard (1...4096).contains(efConstruction) else { return "its ef_construction \(efConstruction) is not between 1 and 4096" }
        return nil
    }
}

import TensorOps

/// y = x · Wᵀ + b for a PyTorch `Linear` weight W of shape [out, in].
struct Linear: Sendable {
    /// How the weights are held. A layer is loaded row-major (so parts can be concatenated and
    /// quantised), then `with(_:)` converts it once into the form the kernels read, dropping the
    /// row-major copy.
    enum Weights: Sendable {
        /// As loaded (outFeatures × inFeatures); small heads stay like this.
        case rows([Float])
        /// fp32 in 16-channel panels (`PackedMatrix`).
        case packed(PackedMatrix)
        /// int8 per output channel (`Int8Matrix`).
        case int8(Int8Matrix)
    }

    let weights: Weights
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        self.init(weights: .rows(weight), bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    private init(weights: Weights, bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        self.weights = weights
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// The same layer in the kernels' form: fp32 panels, or int8 per output channel with
    /// `.int8`. Already converted layers are returned as they are.
    func with(_ precision: WeightPrecision) -> Linear {
        guard case .rows(let w) = weights else { return self }
        let converted: Weights = precision == .int8
            ? .int8(Int8Matrix(w, rows: outFeatures, columns: inFeatures))
            : .packed(PackedMatrix(w, rows: outFeatures, columns: inFeatures))
        return Linear(weights: converted, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// Several linears over the same input fused into one (Q, K and V, or gate and up), so one
    /// large gemm replaces three small ones.
    init(concatenating parts: [Linear]) {
        let rows = parts.map { part -> [Float] in
            guard case .rows(let w) = part.weights else { preconditionFailure("Linear: concatenate before converting") }
            return w
        }
        self.init(weights: .rows(rows.flatMap { $0 }),
                  bias: parts.allSatisfy { $0.bias != nil } ? parts.flatMap { $0.bias ?? [] } : nil,
                  inFeatures: parts[0].inFeatures, outFeatures: parts.reduce(0) { $0 + $1.outFeatures })
    }

    /// y = x · Wᵀ + b, then GELU when `gelu` (fused into the product's column split).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, threads: Int = 1, gelu: Bool = false) {
        func withBias(_ body: (UnsafePointer<Float>?) -> Void) {
            guard let bias else { return body(nil) }
            bias.withUnsafeBufferPointer { body($0.baseAddress) }
        }
        switch weights {
        case .packed(let packed):
            withBias { packed.multiply(x, rows: rows, into: y, bias: $0, gelu: gelu, threads: threads) }
        case .int8(let int8):
            withBias { int8.multiply(x, rows: rows, into: y, bias: $0, gelu: gelu, threads: threads) }
        case .rows(let weight):
            weight.withUnsafeBufferPointer { w in
                let wp = w.baseAddress!  // safe: weights are never empty (shape checked at load)
                withBias { b in
                    let epilogue: Gemm.Epilogue = b.map { gelu ? .biasGELU($0) : .bias($0) } ?? (gelu ? .biasGELU(nil) : .none)
                    Gemm.multiply(m: rows, n: outFeatures, k: inFeatures, a: x, b: wp, transposeB: true, c: y,
                                  threads: threads, epilogue: epilogue)
                }
            }
        }
    }

    /// y = x · Wᵀ + b for `rows` rows of `x` (at least one).
    func apply(_ x: [Float], rows: Int, threads: Int = 1) -> [Float] {
        precondition(rows > 0 && x.count == rows * inFeatures, "Linear.apply: \(x.count) values for \(rows) × \(inFeatures)")
        var y = [Float](repeating: 0, count: rows * outFeatures)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                apply(xb.baseAddress!, rows: rows, into: yb.baseAddress!, threads: threads)  // safe: both non-empty (rows > 0)
            }
        }
        return y
    }
}

/// How the linear layers' weights are held: as loaded (fp32), or quantised to int8 per output
/// channel at load time (`nestor serve --quantize int8`). Embedding tables, norms and attention
/// stay fp32 either way.
public enum WeightPrecision: String, Sendable, CaseIterable {
    case float32 = "fp32"
    case int8
}

/// Loads weights by name with the checkpoint's prefix resolved once.
struct WeightLoader {
    let store: TensorStore
    let prefix: String

    func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
        try store.floats(prefix + name, shape: shape)
    }

    func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
        store.entries[prefix + name] == nil ? nil : try store.floats(prefix + name, shape: shape)
    }

    func linear(_ name: String, in i: Int, out o: Int, bias: Bool = true) throws -> Linear {
        Linear(weight: try tensor("\(name).weight", [o, i]),
               bias: bias ? try tensor("\(name).bias", [o]) : try optional("\(name).bias", [o]),
               inFeatures: i, outFeatures: o)
    }
}

/// Sequences packed back to back without padding: row r of every activation matrix is one
/// token. Only attention needs the sequence boundaries, so no compute is spent on padding and
/// a text's result cannot depend on what else is in its batch.
public struct PackedBatch: Sendable {
    public let tokens: [Int32]
    public let typeIds: [Int32]
    /// Start row and length of each sequence.
    public let starts: [Int]
    public let lengths: [Int]

    public init(sequences: [[Int]], typeIds types: [[Int]]? = nil) {
        var t = [Int32](), ty = [Int32](), s = [Int](), l = [Int]()
        for (i, seq) in sequences.enumerated() {
            s.append(t.count)
            l.append(seq.count)
            t.append(contentsOf: seq.map { Int32(exactly: $0) ?? -1 })  // ids beyond Int32 are rejected as out of vocabulary
            if let types, i < types.count, types[i].count == seq.count {
                ty.append(contentsOf: types[i].map { Int32(truncatingIfNeeded: $0) })
            } else {
                ty.append(contentsOf: repeatElement(0, count: seq.count))
            }
        }
        tokens = t
        typeIds = ty
        starts = s
        lengths = l
    }

    public var rows: Int { tokens.count }
}

/// Scaled dot-product attention for every sequence and head of a packed batch.
/// `q`, `k`, `v` point at the first row of each projection inside (possibly fused) buffers with
/// the given row strides; heads of K/V are shared by `heads / kvHeads` query heads (GQA).
func packedAttention(
    batch: PackedBatch, heads: Int, kvHeads: Int, headDim: Int, causal: Bool,
    q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
    v: UnsafePointer<Float>, vStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
    scratch: inout [Float]
) {
    let longest = batch.lengths.max() ?? 0
    if scratch.count < longest * longest { scratch = [Float](repeating: 0, count: longest * longest) }
    scratch.withUnsafeMutableBufferPointer { sbuf in
        guard let scores = sbuf.baseAddress else { return }
        for (start, length) in zip(batch.starts, batch.lengths) where length > 0 {
            Attention.sequence(
                length: length, heads: heads, kvHeads: kvHeads, headDim: headDim, causal: causal,
                q: q + start * qStride, qStride: qStride, k: k + start * kStride, kStride: kStride,
                v: v + start * vStride, vStride: vStride, out: out + start * outStride, outStride: outStride,
                scores: scores)
        }
    }
}

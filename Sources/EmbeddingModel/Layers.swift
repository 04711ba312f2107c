import TensorOps

/// y = x · Wᵀ + b for a PyTorch `Linear` weight W of shape [out, in].
struct Linear: Sendable {
    /// fp32 weights (outFeatures × inFeatures); empty once quantised.
    let weight: [Float]
    /// The int8 form, when the model was loaded with `.int8` precision.
    let int8: Int8Matrix?
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int

    init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        int8 = nil
    }

    private init(int8: Int8Matrix, bias: [Float]?) {
        weight = []
        self.int8 = int8
        self.bias = bias
        inFeatures = int8.columns
        outFeatures = int8.rows
    }

    /// The same layer with int8 weights (per output channel) and the fp32 copy released; with
    /// `.float32` the layer itself.
    func with(_ precision: WeightPrecision) -> Linear {
        guard precision == .int8, int8 == nil else { return self }
        return Linear(int8: Int8Matrix(weight, rows: outFeatures, columns: inFeatures), bias: bias)
    }

    /// Several linears over the same input fused into one (Q, K and V, or gate and up), so one
    /// large gemm replaces three small ones.
    init(concatenating parts: [Linear]) {
        precondition(parts.allSatisfy { $0.int8 == nil }, "Linear: concatenate before quantising")
        int8 = nil
        inFeatures = parts[0].inFeatures
        outFeatures = parts.reduce(0) { $0 + $1.outFeatures }
        weight = parts.flatMap(\.weight)
        bias = parts.allSatisfy { $0.bias != nil } ? parts.flatMap { $0.bias ?? [] } : nil
    }

    /// y = x · Wᵀ + b, then GELU when `gelu` (fused into the product's column split).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, threads: Int = 1, gelu: Bool = false) {
        if let int8 {
            func run(_ b: UnsafePointer<Float>?) { int8.multiply(x, rows: rows, into: y, bias: b, threads: threads) }
            if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
            if gelu { Kernels.gelu(y, count: rows * outFeatures) }
            return
        }
        weight.withUnsafeBufferPointer { w in
            let wp = w.baseAddress!  // safe: weights are never empty (shape checked at load)
            func run(_ epilogue: Gemm.Epilogue) {
                Gemm.multiply(m: rows, n: outFeatures, k: inFeatures, a: x, b: wp, transposeB: true, c: y,
                              threads: threads, epilogue: epilogue)
            }
            guard let bias else { return run(gelu ? .biasGELU(nil) : .none) }
            bias.withUnsafeBufferPointer { b in
                let bp = b.baseAddress!  // safe: same length as outFeatures > 0
                run(gelu ? .biasGELU(bp) : .bias(bp))
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

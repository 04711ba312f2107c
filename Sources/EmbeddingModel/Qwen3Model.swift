import Foundation
import TensorOps

/// The Qwen3 decoder as Qwen3-Embedding uses it: pre-RMSNorm, per-head RMSNorm on q and k,
/// rotary positions, grouped-query causal attention and a SwiGLU MLP.
struct Qwen3Model: TransformerModel {
    struct Layer: Sendable {
        let inputNorm: [Float]
        let qkv: Linear
        let qNorm: [Float]
        let kNorm: [Float]
        let o: Linear
        let postNorm: [Float]
        let gateUp: Linear
        let down: Linear
    }

    let config: ModelConfig
    let embeddings: [Float]
    let layers: [Layer]
    let finalNorm: [Float]
    let inverseFrequencies: [Float]

    init(config c: ModelConfig, store: TensorStore, precision: WeightPrecision = .float32) throws {
        config = c
        let probe = "embed_tokens.weight"
        guard let found = store.resolve([probe, "model.\(probe)"]) else {
            throw ModelError(.missingTensor, file: store.source, "missing tensor \(probe) (also looked for prefixed variants)")
        }
        let w = WeightLoader(store: store, prefix: String(found.dropLast(probe.count)))
        let h = c.hiddenSize, qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
        embeddings = try w.tensor("embed_tokens.weight", [c.vocabSize, h])
        layers = try (0..<c.layers).map { i in
            let p = "layers.\(i)."
            return Layer(
                inputNorm: try w.tensor(p + "input_layernorm.weight", [h]),
                qkv: Linear(concatenating: [
                    try w.linear(p + "self_attn.q_proj", in: h, out: qDim, bias: false),
                    try w.linear(p + "self_attn.k_proj", in: h, out: kvDim, bias: false),
                    try w.linear(p + "self_attn.v_proj", in: h, out: kvDim, bias: false),
                ]).with(precision),
                qNorm: try w.tensor(p + "self_attn.q_norm.weight", [c.headDim]),
                kNorm: try w.tensor(p + "self_attn.k_norm.weight", [c.headDim]),
                o: try w.linear(p + "self_attn.o_proj", in: qDim, out: h, bias: false).with(precision),
                postNorm: try w.tensor(p + "post_attention_layernorm.weight", [h]),
                gateUp: Linear(concatenating: [
                    try w.linear(p + "mlp.gate_proj", in: h, out: c.intermediateSize, bias: false),
                    try w.linear(p + "mlp.up_proj", in: h, out: c.intermediateSize, bias: false),
                ]).with(precision),
                down: try w.linear(p + "mlp.down_proj", in: c.intermediateSize, out: h, bias: false).with(precision))
        }
        finalNorm = try w.tensor("norm.weight", [h])
        let half = c.headDim / 2
        inverseFrequencies = (0..<half).map { i in 1 / powf(c.ropeTheta, Float(2 * i) / Float(c.headDim)) }
    }

    var maxTokens: Int { config.maxPositions }

    func forward(_ batch: PackedBatch, collectLayers: Bool, threads: Int) throws -> ForwardResult {
        let c = config, n = batch.rows, h = c.hiddenSize
        let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim, width = qDim + 2 * kvDim
        var x = [Float](repeating: 0, count: n * h)
        for r in 0..<n {
            let id = Int(batch.tokens[r])
            guard id >= 0, id < c.vocabSize else {
                throw ModelError(.invalidConfig, file: "input", "token id \(id) is outside the vocabulary (0..<\(c.vocabSize))")
            }
            for i in 0..<h { x[r * h + i] = embeddings[id * h + i] }
        }
        // Positions count from each sequence's first token; rotary attention depends only on
        // differences, so this equals Hugging Face's left-padded positions.
        var positions = [Int32](repeating: 0, count: n)
        for (start, length) in zip(batch.starts, batch.lengths) {
            guard length <= c.maxPositions else {
                throw ModelError(.invalidConfig, file: "input", "sequence of \(length) tokens is longer than the model's \(c.maxPositions)")
            }
            for t in 0..<length { positions[start + t] = Int32(t) }
        }
        var all: [[Float]] = collectLayers ? [x] : []
        var normed = [Float](repeating: 0, count: n * h)
        var qkv = [Float](repeating: 0, count: n * width)
        var ctx = [Float](repeating: 0, count: n * qDim)
        var gateUp = [Float](repeating: 0, count: n * 2 * c.intermediateSize)
        var act = [Float](repeating: 0, count: n * c.intermediateSize)
        var tmp = [Float](repeating: 0, count: n * h)
        var scratch = [Float]()
        for layer in layers {
            // Attention block.
            normed = x
            normed.withUnsafeMutableBufferPointer { nb in
                layer.inputNorm.withUnsafeBufferPointer { Kernels.rmsNorm(nb.baseAddress!, rows: n, width: h, gamma: $0.baseAddress!, eps: c.layerNormEps) }  // safe: non-empty
                qkv.withUnsafeMutableBufferPointer { qb in
                    let qp = qb.baseAddress!  // safe: non-empty
                    layer.qkv.apply(nb.baseAddress!, rows: n, into: qp, threads: threads)  // safe: non-empty
                    // Per-head RMSNorm of q and k, then rotary positions.
                    for r in 0..<n {
                        layer.qNorm.withUnsafeBufferPointer { Kernels.rmsNorm(qp + r * width, rows: c.heads, width: c.headDim, gamma: $0.baseAddress!, eps: c.layerNormEps) }  // safe: headDim > 0
                        layer.kNorm.withUnsafeBufferPointer { Kernels.rmsNorm(qp + r * width + qDim, rows: c.kvHeads, width: c.headDim, gamma: $0.baseAddress!, eps: c.layerNormEps) }  // safe: headDim > 0
                    }
                    positions.withUnsafeBufferPointer { pp in
                        inverseFrequencies.withUnsafeBufferPointer { fp in
                            for r in 0..<n {
                                Kernels.rope(qp + r * width, rows: 1, heads: c.heads, headDim: c.headDim, positions: pp.baseAddress! + r, inverseFrequencies: fp.baseAddress!)  // safe: non-empty
                                Kernels.rope(qp + r * width + qDim, rows: 1, heads: c.kvHeads, headDim: c.headDim, positions: pp.baseAddress! + r, inverseFrequencies: fp.baseAddress!)  // safe: non-empty
                            }
                        }
                    }
                    ctx.withUnsafeMutableBufferPointer { cb in
                        packedAttention(batch: batch, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, causal: true,
                                        q: qp, qStride: width, k: qp + qDim, kStride: width, v: qp + qDim + kvDim, vStride: width,
                                        out: cb.baseAddress!, outStride: qDim, scratch: &scratch)  // safe: non-empty
                    }
                }
            }
            tmp.withUnsafeMutableBufferPointer { tb in
                ctx.withUnsafeBufferPointer { layer.o.apply($0.baseAddress!, rows: n, into: tb.baseAddress!, threads: threads) }  // safe: non-empty
                x.withUnsafeMutableBufferPointer { Kernels.add($0.baseAddress!, tb.baseAddress!, count: n * h) }  // safe: non-empty
            }
            // MLP block.
            normed = x
            normed.withUnsafeMutableBufferPointer { nb in
                layer.postNorm.withUnsafeBufferPointer { Kernels.rmsNorm(nb.baseAddress!, rows: n, width: h, gamma: $0.baseAddress!, eps: c.layerNormEps) }  // safe: non-empty
                gateUp.withUnsafeMutableBufferPointer { gb in
                    let gp = gb.baseAddress!  // safe: non-empty
                    layer.gateUp.apply(nb.baseAddress!, rows: n, into: gp, threads: threads)  // safe: non-empty
                    let i = c.intermediateSize
                    act.withUnsafeMutableBufferPointer { ab in
                        let ap = ab.baseAddress!  // safe: non-empty
                        for r in 0..<n {
                            memcpy(ap + r * i, gp + r * 2 * i, i * 4)
                            Kernels.swiglu(gate: ap + r * i, up: gp + r * 2 * i + i, count: i)
                        }
                        tmp.withUnsafeMutableBufferPointer { tb in
                            layer.down.apply(ap, rows: n, into: tb.baseAddress!, threads: threads)  // safe: non-empty
                            x.withUnsafeMutableBufferPointer { Kernels.add($0.baseAddress!, tb.baseAddress!, count: n * h) }  // safe: non-empty
                        }
                    }
                }
            }
            if collectLayers { all.append(x) }
        }
        x.withUnsafeMutableBufferPointer { xb in
            finalNorm.withUnsafeBufferPointer { Kernels.rmsNorm(xb.baseAddress!, rows: n, width: h, gamma: $0.baseAddress!, eps: c.layerNormEps) }  // safe: non-empty
        }
        if collectLayers { all[all.count - 1] = x }
        return ForwardResult(hidden: x, width: h, layers: all)
    }
}

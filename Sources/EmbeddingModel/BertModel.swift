import TensorOps

/// BERT and XLM-RoBERTa encoders (post-LayerNorm, GELU). They differ only in position ids:
/// BERT counts from 0; XLM-R from `pad_token_id + 1`, as Hugging Face's
/// `create_position_ids_from_input_ids` does.
struct BertModel: TransformerModel {
    struct Layer: Sendable {
        let qkv: Linear
        let attentionOutput: Linear
        let attentionNorm: (gamma: [Float], beta: [Float])
        let intermediate: Linear
        let output: Linear
        let outputNorm: (gamma: [Float], beta: [Float])
    }

    let config: ModelConfig
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let typeEmbeddings: [Float]?
    let embeddingNorm: (gamma: [Float], beta: [Float])
    let layers: [Layer]

    init(config c: ModelConfig, store: TensorStore, precision: WeightPrecision = .float32) throws {
        config = c
        let probe = "embeddings.word_embeddings.weight"
        guard let found = store.resolve([probe, "bert.\(probe)", "roberta.\(probe)", "model.\(probe)"]) else {
            throw ModelError(.missingTensor, file: store.source, "missing tensor \(probe) (also looked for prefixed variants)")
        }
        let w = WeightLoader(store: store, prefix: String(found.dropLast(probe.count)))
        let h = c.hiddenSize
        wordEmbeddings = try w.tensor("embeddings.word_embeddings.weight", [c.vocabSize, h])
        positionEmbeddings = try w.tensor("embeddings.position_embeddings.weight", [c.maxPositions, h])
        typeEmbeddings = c.typeVocabSize > 0 ? try w.tensor("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h]) : nil
        embeddingNorm = (try w.tensor("embeddings.LayerNorm.weight", [h]), try w.tensor("embeddings.LayerNorm.bias", [h]))
        layers = try (0..<c.layers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(
                qkv: Linear(concatenating: [
                    try w.linear(p + "attention.self.query", in: h, out: h),
                    try w.linear(p + "attention.self.key", in: h, out: h),
                    try w.linear(p + "attention.self.value", in: h, out: h),
                ]).with(precision),
                attentionOutput: try w.linear(p + "attention.output.dense", in: h, out: h).with(precision),
                attentionNorm: (try w.tensor(p + "attention.output.LayerNorm.weight", [h]),
                                try w.tensor(p + "attention.output.LayerNorm.bias", [h])),
                intermediate: try w.linear(p + "intermediate.dense", in: h, out: c.intermediateSize).with(precision),
                output: try w.linear(p + "output.dense", in: c.intermediateSize, out: h).with(precision),
                outputNorm: (try w.tensor(p + "output.LayerNorm.weight", [h]), try w.tensor(p + "output.LayerNorm.bias", [h])))
        }
    }

    var maxTokens: Int {
        config.architecture == .xlmRoberta ? config.maxPositions - (config.padTokenId ?? 1) - 1 : config.maxPositions
    }

    /// Position ids of one unpadded sequence. XLM-R follows `create_position_ids_from_input_ids`:
    /// cumsum(id ≠ pad) · (id ≠ pad) + pad, so a pad id inside a text keeps position `pad`.
    func positions(of tokens: ArraySlice<Int32>) -> [Int] {
        guard config.architecture == .xlmRoberta else { return Array(0..<tokens.count) }
        let pad = config.padTokenId ?? 1
        var count = 0
        return tokens.map { id in
            guard Int(id) != pad else { return pad }
            count += 1
            return count + pad
        }
    }

    func forward(_ batch: PackedBatch, collectLayers: Bool, threads: Int) throws -> ForwardResult {
        let n = batch.rows, h = config.hiddenSize
        var x = [Float](repeating: 0, count: n * h)
        try embed(batch, into: &x)
        var all: [[Float]] = collectLayers ? [x] : []
        var qkv = [Float](repeating: 0, count: n * 3 * h)
        var ctx = [Float](repeating: 0, count: n * h)
        var tmp = [Float](repeating: 0, count: n * h)
        var inter = [Float](repeating: 0, count: n * config.intermediateSize)
        var scratch = [Float]()
        for layer in layers {
            x.withUnsafeMutableBufferPointer { xb in
                let xp = xb.baseAddress!  // safe: n·h > 0 for a non-empty batch (checked by caller)
                qkv.withUnsafeMutableBufferPointer { qb in
                    let qp = qb.baseAddress!  // safe: same size argument
                    layer.qkv.apply(xp, rows: n, into: qp, threads: threads)
                    ctx.withUnsafeMutableBufferPointer { cb in
                        packedAttention(batch: batch, heads: config.heads, kvHeads: config.heads, headDim: config.headDim,
                                        causal: false, q: qp, qStride: 3 * h, k: qp + h, kStride: 3 * h,
                                        v: qp + 2 * h, vStride: 3 * h, out: cb.baseAddress!, outStride: h, scratch: &scratch)  // safe: n·h > 0
                    }
                }
                tmp.withUnsafeMutableBufferPointer { tb in
                    let tp = tb.baseAddress!  // safe: n·h > 0
                    ctx.withUnsafeBufferPointer { layer.attentionOutput.apply($0.baseAddress!, rows: n, into: tp, threads: threads) }  // safe: n·h > 0
                    Kernels.add(tp, xp, count: n * h)
                    layerNorm(tp, rows: n, layer.attentionNorm)
                    inter.withUnsafeMutableBufferPointer { ib in
                        let ip = ib.baseAddress!  // safe: n·intermediate > 0
                        layer.intermediate.apply(tp, rows: n, into: ip, threads: threads, gelu: true)
                        layer.output.apply(ip, rows: n, into: xp, threads: threads)
                    }
                    Kernels.add(xp, tp, count: n * h)
                    layerNorm(xp, rows: n, layer.outputNorm)
                }
            }
            if collectLayers { all.append(x) }
        }
        return ForwardResult(hidden: x, width: h, layers: all)
    }

    private func layerNorm(_ p: UnsafeMutablePointer<Float>, rows: Int, _ norm: (gamma: [Float], beta: [Float])) {
        norm.gamma.withUnsafeBufferPointer { g in
            norm.beta.withUnsafeBufferPointer { b in
                Kernels.layerNorm(p, rows: rows, width: config.hiddenSize, gamma: g.baseAddress!, beta: b.baseAddress!,  // safe: hidden > 0
                                  eps: config.layerNormEps)
            }
        }
    }

    /// Word + position + token-type embeddings, then LayerNorm.
    private func embed(_ batch: PackedBatch, into x: inout [Float]) throws {
        let h = config.hiddenSize
        for (start, length) in zip(batch.starts, batch.lengths) {
            let pos = positions(of: batch.tokens[start..<(start + length)])
            for t in 0..<length {
                let r = start + t
                let id = Int(batch.tokens[r]), type = Int(batch.typeIds[r]), p = pos[t]
                guard id >= 0, id < config.vocabSize else {
                    throw ModelError(.invalidConfig, file: "input", "token id \(id) is outside the vocabulary (0..<\(config.vocabSize))")
                }
                guard p >= 0, p < config.maxPositions else {
                    throw ModelError(.invalidConfig, file: "input", "sequence of \(length) tokens is longer than the model's \(maxTokens)")
                }
                for i in 0..<h {
                    x[r * h + i] = wordEmbeddings[id * h + i] + positionEmbeddings[p * h + i]
                }
                if let typeEmbeddings {
                    let ty = min(max(type, 0), config.typeVocabSize - 1)
                    for i in 0..<h { x[r * h + i] += typeEmbeddings[ty * h + i] }
                }
            }
        }
        x.withUnsafeMutableBufferPointer { layerNorm($0.baseAddress!, rows: batch.rows, embeddingNorm) }  // safe: non-empty batch
    }
}

import Foundation

/// The head of Hugging Face `BertForSequenceClassification` (transformers
/// `models/bert/modeling_bert.py`: `BertPooler.forward`, then `BertForSequenceClassification.forward`):
/// the pooler takes the first token ([CLS]), `pooler.dense` + tanh, and `classifier` maps the
/// pooled vector to `num_labels` logits. Dropout is inactive at inference.
struct BertSequenceClassificationHead: SequenceClassificationHead {
    let pooler: Linear
    let classifier: Linear

    init(config c: ModelConfig, labels: Int, store: TensorStore) throws {
        let probe = "pooler.dense.weight"
        guard let found = store.resolve(["bert.\(probe)", probe]) else {
            throw ModelError(.missingTensor, file: store.source,
                             "missing tensor bert.\(probe): a BertForSequenceClassification checkpoint has a pooler")
        }
        let encoder = WeightLoader(store: store, prefix: String(found.dropLast(probe.count)))
        let root = WeightLoader(store: store, prefix: "")
        pooler = try encoder.linear("pooler.dense", in: c.hiddenSize, out: c.hiddenSize)
        classifier = try root.linear("classifier", in: c.hiddenSize, out: labels)
    }

    var labels: Int { classifier.outFeatures }

    func logits(firstTokens x: [Float], rows: Int, threads: Int) -> [Float] {
        var pooled = pooler.apply(x, rows: rows, threads: threads)
        for i in pooled.indices { pooled[i] = tanh(pooled[i]) }
        return classifier.apply(pooled, rows: rows, threads: threads)
    }
}

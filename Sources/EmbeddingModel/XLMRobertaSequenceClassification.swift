import Foundation

/// The head of Hugging Face `XLMRobertaForSequenceClassification` (and `RobertaFor…`,
/// `CamembertFor…`; transformers `models/xlm_roberta/modeling_xlm_roberta.py`:
/// `XLMRobertaClassificationHead.forward`): the first token (<s>), `classifier.dense` + tanh, then
/// `classifier.out_proj` to `num_labels` logits. The encoder has no pooler here
/// (`add_pooling_layer=False`). Dropout is inactive at inference.
struct XLMRobertaSequenceClassificationHead: SequenceClassificationHead {
    let dense: Linear
    let outProjection: Linear

    init(config c: ModelConfig, labels: Int, store: TensorStore) throws {
        let w = WeightLoader(store: store, prefix: "")
        guard store.entries["classifier.dense.weight"] != nil else {
            throw ModelError(.missingTensor, file: store.source,
                             "missing tensor classifier.dense.weight: an XLMRobertaForSequenceClassification checkpoint has a classification head")
        }
        dense = try w.linear("classifier.dense", in: c.hiddenSize, out: c.hiddenSize)
        outProjection = try w.linear("classifier.out_proj", in: c.hiddenSize, out: labels)
    }

    var labels: Int { outProjection.outFeatures }

    func logits(firstTokens x: [Float], rows: Int, threads: Int) -> [Float] {
        var hidden = dense.apply(x, rows: rows, threads: threads)
        for i in hidden.indices { hidden[i] = tanh(hidden[i]) }
        return outProjection.apply(hidden, rows: rows, threads: threads)
    }
}

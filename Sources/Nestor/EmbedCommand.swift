import ArgumentParser
import EmbeddingEngine
import EmbeddingModel
import Foundation
import NestorCore
import Tokenization

/// `nestor embed`: vectors for texts, straight from the engine.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Print embeddings of texts with a local model.")

    @Option(help: "A model folder, or a model name under $NESTOR_MODELS (default ./models).")
    var model: String = ModelLocator.defaultModel
    @Option(help: "A prompt from the model's config_sentence_transformers.json, such as query or passage.")
    var promptName: String?
    @Option(help: "Matryoshka output size (only for models that allow it).") var dimensions: Int?
    @Option(help: TokenizerMode.help) var tokenizerMode: TokenizerMode?
    @Option(help: "Weights of the linear layers: fp32 or int8.") var quantize: WeightPrecision = .float32
    @Flag(help: "Print one JSON object per text instead of plain numbers.") var json = false
    @Argument(help: "Texts to embed.") var texts: [String]

    func run() async throws {
        let embedder: LocalEmbedder
        do {
            embedder = try LocalEmbedder(folder: try ModelLocator.resolve(model),
                                         options: .init(tokenizerMode: try TokenizerMode.resolve(tokenizerMode), precision: quantize))
        } catch {
            throw ValidationError("\(error)")
        }
        let out: EmbeddingOutput
        do {
            out = try await embedder.embed(texts.map { .text($0) }, options: EmbedOptions(promptName: promptName, dimensions: dimensions))
        } catch let e as EmbeddingError {
            throw ValidationError(e.message)
        }
        for (i, (v, n)) in zip(out.vectors, out.tokenCounts).enumerated() {
            if json {
                let obj: [String: Any] = ["index": i, "tokens": n, "embedding": v.map { Double($0) }]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(v.map { String(format: "%.6f", $0) }.joined(separator: " "))
            }
        }
    }
}

import EmbeddingEngine
import Foundation
import NestorCore
import Tokenization

/// Throughput and latency of the embedding engine, printed as one JSON object.
/// Usage: EmbeddingBenchmark MODEL_DIR TEXTS_JSON QUERY [SECONDS_PER_POINT]
/// Driven by Benchmarks/embedding/run.py, which runs sentence-transformers on the same texts.
let args = CommandLine.arguments
guard args.count >= 4 else {
    FileHandle.standardError.write(Data("usage: EmbeddingBenchmark MODEL_DIR TEXTS_JSON QUERY [SECONDS]\n".utf8))
    exit(2)
}
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

var results: [String: Any] = [:]
let folder = URL(fileURLWithPath: args[1])
var t0 = now()
for _ in 0..<5 { _ = try Tokenizer(contentsOf: folder) }
results["tokenizer_load_ms"] = (now() - t0) / 5 * 1000
t0 = now()
let engine = try LocalEmbedder(folder: folder)
results["model_load_ms"] = (now() - t0) * 1000
let texts = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
let query = args[3]
let budget = args.count > 4 ? Double(args[4]) ?? 3 : 3

_ = try await engine.embed(texts.prefix(32).map { .text($0) }, options: EmbedOptions())  // warm-up
for batch in [1, 8, 32, 128] {
    var done = 0
    let start = now()
    var i = 0
    while now() - start < budget || done < batch * 2 {
        let chunk = (0..<batch).map { texts[(i + $0) % texts.count] }
        i += batch
        _ = try await engine.embed(chunk.map { .text($0) }, options: EmbedOptions())
        done += batch
    }
    results["batch\(batch)_sentences_per_s"] = Double(done) / (now() - start)
}
var latencies = [Double]()
for _ in 0..<60 {
    let t = now()
    _ = try await engine.embed([.text(query)], options: EmbedOptions())
    latencies.append((now() - t) * 1000)
}
latencies.sort()
results["query_latency_ms_p50"] = latencies[latencies.count / 2]
results["query_latency_ms_p90"] = latencies[latencies.count * 9 / 10]
print(String(decoding: try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys]), as: UTF8.self))

// Where a lone query's time goes: tokenization, and the forward pass on one or two threads.
if CommandLine.arguments.contains("--breakdown") {
    let ids = try engine.tokens(for: .text(query), index: 0, prompt: "", limit: 512, options: EmbedOptions())
    func median(_ f: () throws -> Void) rethrows -> Double {
        var t = [Double]()
        for _ in 0..<50 { let s = now(); try f(); t.append((now() - s) * 1000) }
        return t.sorted()[25]
    }
    let tok = try median { _ = try engine.tokenizer.encode(query) }
    let one = try median { _ = try engine.model.embed([ids], threads: 1) }
    let two = try median { _ = try engine.model.embed([ids], threads: 2) }
    print("tokens \(ids.count): tokenize \(tok) ms, forward 1 thread \(one) ms, 2 threads \(two) ms")
}

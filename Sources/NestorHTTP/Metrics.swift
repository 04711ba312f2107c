import Foundation
import Synchronization

/// Counters and histograms in Prometheus text format. Small and self-contained on purpose: the
/// server needs a handful of series, and the exposition format is a few lines of text.
public final class ServerMetrics: Sendable {
    private struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0
        var total = 0
        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }
        mutating func observe(_ v: Double) {
            for (i, b) in bounds.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            total += 1
        }
    }

    private struct State {
        var requests: [String: Int] = [:]  // "route|status"
        var tokens = 0
        var inputs = 0
        var rerankPairs = 0
        var rerankTokens = 0
        var latency: [String: Histogram] = [:]
        var batchSize = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048])
    }

    private let state = Mutex(State())
    static let latencyBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init() {}

    func recordRequest(route: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests["\(route)|\(status)", default: 0] += 1
            s.latency[route, default: Histogram(bounds: Self.latencyBounds)].observe(seconds)
        }
    }

    func recordEmbedding(inputs: Int, tokens: Int) {
        state.withLock { s in
            s.inputs += inputs
            s.tokens += tokens
            s.batchSize.observe(Double(inputs))
        }
    }

    func recordRerank(pairs: Int, tokens: Int) {
        state.withLock { s in
            s.rerankPairs += pairs
            s.rerankTokens += tokens
        }
    }

    public func exposition() -> String {
        let s = state.withLock { $0 }
        var out = "# HELP nestor_requests_total HTTP requests by route and status.\n# TYPE nestor_requests_total counter\n"
        for (k, v) in s.requests.sorted(by: { $0.key < $1.key }) {
            let parts = k.split(separator: "|", maxSplits: 1)
            out += "nestor_requests_total{route=\"\(parts[0])\",status=\"\(parts.count > 1 ? parts[1] : "")\"} \(v)\n"
        }
        out += "# HELP nestor_errors_total HTTP responses with status >= 400.\n# TYPE nestor_errors_total counter\n"
        out += "nestor_errors_total \(s.requests.filter { (Int($0.key.split(separator: "|").last ?? "") ?? 0) >= 400 }.values.reduce(0, +))\n"
        out += "# HELP nestor_prompt_tokens_total Tokens embedded.\n# TYPE nestor_prompt_tokens_total counter\nnestor_prompt_tokens_total \(s.tokens)\n"
        out += "# HELP nestor_inputs_total Inputs embedded.\n# TYPE nestor_inputs_total counter\nnestor_inputs_total \(s.inputs)\n"
        out += "# HELP nestor_rerank_pairs_total (query, document) pairs scored by the reranker.\n# TYPE nestor_rerank_pairs_total counter\nnestor_rerank_pairs_total \(s.rerankPairs)\n"
        out += "# HELP nestor_rerank_tokens_total Tokens read by the reranker.\n# TYPE nestor_rerank_tokens_total counter\nnestor_rerank_tokens_total \(s.rerankTokens)\n"
        out += "# HELP nestor_request_duration_seconds Request latency by route.\n# TYPE nestor_request_duration_seconds histogram\n"
        for (route, h) in s.latency.sorted(by: { $0.key < $1.key }) {
            out += histogramLines("nestor_request_duration_seconds", h, labels: "route=\"\(route)\"")
        }
        out += "# HELP nestor_request_inputs Inputs per embedding request.\n# TYPE nestor_request_inputs histogram\n"
        out += histogramLines("nestor_request_inputs", s.batchSize, labels: nil)
        return out
    }

    private func histogramLines(_ name: String, _ h: Histogram, labels: String?) -> String {
        let l = labels.map { "\($0)," } ?? ""
        var out = ""
        for (b, c) in zip(h.bounds, h.counts) { out += "\(name)_bucket{\(l)le=\"\(b)\"} \(c)\n" }
        out += "\(name)_bucket{\(l)le=\"+Inf\"} \(h.total)\n"
        let plain = labels.map { "{\($0)}" } ?? ""
        out += "\(name)_sum\(plain) \(h.sum)\n\(name)_count\(plain) \(h.total)\n"
        return out
    }
}

import ArgumentParser
import Foundation
import NestorCore
import Retrieval

/// `nestor search --collection C "query"`: top hits (from a running server, or `--direct`
/// from the store), one per line.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search a collection (of a running server, or --direct).")

    @Option(help: "Collection to search.") var collection: String
    @OptionGroup var target: TargetOptions
    @Option(help: "Number of hits (default: the service's, 10).") var topK: Int?
    @Option(help: "Metadata filter as JSON, e.g. '{\"lang\": \"de\"}'.") var filter: String?
    @Flag(help: "Print the raw JSON response.") var json = false
    @Argument(help: "The query text.") var query: String

    func run() async throws {
        var request = SearchRequest(collection: collection, query: .text(query), topK: topK)
        if let filter {
            guard let f = try? JSONSerialization.jsonObject(with: Data(filter.utf8), options: [.fragmentsAllowed]) else {
                throw ValidationError("--filter is not JSON")
            }
            guard let value = MetadataValue(json: f) else { throw ValidationError("--filter is not a JSON object") }
            request.filter = try MetadataFilter(value)
        }
        let (filterText, req) = (filter, request)
        let text = try await target.with { try await $0.search(req, filterText: filterText) }
        let r = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            return
        }
        for h in (r["hits"] as? [[String: Any]]) ?? [] {
            let score = (h["score"] as? Double) ?? 0
            let text = ((h["text"] as? String) ?? "").replacingOccurrences(of: "\n", with: " ")
            print(String(format: "%.4f  ", score) + "\(h["document_id"] ?? "")#\(h["chunk_index"] ?? 0)  \(text.prefix(160))")
        }
    }
}

import ArgumentParser
import Foundation

/// `nestor ingest --collection C FILES_OR_DIRS…`: plain text and Markdown files become one
/// document each (id = path), JSONL lines are `{id?, text, metadata?}`. Sends batches to a
/// running server, or with `--direct` writes them to the store itself; shows documents/s and
/// an ETA on a terminal.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Ingest files into a collection (of a running server, or --direct).")

    @Option(help: "Collection to ingest into (created when missing).") var collection: String
    @OptionGroup var target: TargetOptions
    @Option(help: "Documents per request.") var batchSize = 64
    @Argument(help: "Files or folders (.txt, .md, .markdown, .jsonl).") var paths: [String]

    func run() async throws {
        let documents = try paths.flatMap(Self.documents(at:))
        guard !documents.isEmpty else { throw CommandFailure("no .txt, .md or .jsonl documents under \(paths.joined(separator: " "))") }
        try await target.with { try await ingest(documents, through: $0) }
    }

    private func ingest(_ documents: [[String: Any]], through client: RetrievalTarget) async throws {
        if try await client.createCollectionIfMissing(collection) {
            FileHandle.standardError.write(Data("created collection \(collection)\n".utf8))
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let start = Date()
        var done = 0, chunks = 0
        for i in stride(from: 0, to: documents.count, by: max(1, batchSize)) {
            let batch = Array(documents[i..<min(documents.count, i + max(1, batchSize))])
            chunks += try await client.ingest(batch, into: collection)
            done += batch.count
            if terminal {
                let rate = Double(done) / max(0.001, Date().timeIntervalSince(start))
                let eta = Double(documents.count - done) / max(rate, 0.001)
                let line = String(format: "\r%d/%d documents  %.1f docs/s  ETA %.0f s   ", done, documents.count, rate, eta)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        print("ingested \(done) documents (\(chunks) chunks) into \(collection) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    static func documents(at path: String) throws -> [[String: Any]] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CommandFailure("no such file or folder: \(path)") }
        if isDir.boolValue {
            let files = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []).sorted()
            return try files.filter { ["txt", "md", "markdown", "jsonl"].contains(($0 as NSString).pathExtension.lowercased()) }
                .flatMap { try documents(at: (path as NSString).appendingPathComponent($0)) }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard (path as NSString).pathExtension.lowercased() == "jsonl" else {
            return text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? [] : [["id": path, "text": text]]
        }
        return try text.split(separator: "\n", omittingEmptySubsequences: true).enumerated().map { n, line in
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], obj["text"] is String else {
                throw CommandFailure("\(path):\(n + 1): expected a JSON object with a \"text\" string")
            }
            return obj
        }
    }
}

/// `nestor search --collection C "query"`: top hits (from a running server, or `--direct`
/// from the store), one per line.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search a collection (of a running server, or --direct).")

    @Option(help: "Collection to search.") var collection: String
    @OptionGroup var target: TargetOptions
    @Option(help: "Number of hits.") var topK = 5
    @Option(help: "Metadata filter as JSON, e.g. '{\"lang\": \"de\"}'.") var filter: String?
    @Flag(help: "Print the raw JSON response.") var json = false
    @Argument(help: "The query text.") var query: String

    func run() async throws {
        var parsedFilter: Any?
        if let filter {
            guard let f = try? JSONSerialization.jsonObject(with: Data(filter.utf8)) else { throw ValidationError("--filter is not JSON") }
            parsedFilter = f
        }
        let r = try await target.with { try await $0.search(query, in: collection, topK: topK, filter: parsedFilter) }
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

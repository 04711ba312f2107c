import ArgumentParser
import Foundation
import NestorCore
import Retrieval

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
        let (collection, batchSize) = (collection, batchSize)
        try await target.with { try await Self.ingest(documents, into: collection, batchSize: batchSize, through: $0) }
    }

    private static func ingest(_ documents: [IngestDocument], into collection: String, batchSize: Int,
                               through client: RetrievalTarget) async throws {
        if try await client.createCollectionIfMissing(collection) {
            FileHandle.standardError.write(Data("created collection \(collection)\n".utf8))
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let start = Date()
        var done = 0, chunks = 0
        for i in stride(from: 0, to: documents.count, by: max(1, batchSize)) {
            let batch = Array(documents[i..<min(documents.count, i + max(1, batchSize))])
            chunks += try await client.ingest(IngestRequest(collection: collection, documents: batch))
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

    static func documents(at path: String) throws -> [IngestDocument] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CommandFailure("no such file or folder: \(path)") }
        if isDir.boolValue {
            let files = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []).sorted()
            return try files.filter { ["txt", "md", "markdown", "jsonl"].contains(($0 as NSString).pathExtension.lowercased()) }
                .flatMap { try documents(at: (path as NSString).appendingPathComponent($0)) }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard (path as NSString).pathExtension.lowercased() == "jsonl" else {
            return text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? [] : [IngestDocument(id: path, text: text)]
        }
        return try text.split(separator: "\n", omittingEmptySubsequences: true).enumerated().map { n, line in
            let at = "\(path):\(n + 1)"
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], let body = obj["text"] as? String else {
                throw CommandFailure("\(at): expected a JSON object with a \"text\" string")
            }
            if let extra = obj.keys.first(where: { !["id", "text", "metadata"].contains($0) }) {
                throw CommandFailure("\(at): unknown field \"\(extra)\"; a line holds id, text and metadata")
            }
            var id: String?
            switch obj["id"] {
            case nil, is NSNull: id = nil
            case let s as String: id = s
            case let n as NSNumber where String(cString: n.objCType) != "c" && n.doubleValue == n.doubleValue.rounded(): id = String(n.int64Value)
            default: throw CommandFailure("\(at): \"id\" must be a string or an integer")
            }
            var metadata: Metadata = [:]
            if let m = obj["metadata"], !(m is NSNull) {
                guard let dict = m as? [String: Any], case .object(let fields)? = MetadataValue(json: dict) else {
                    throw CommandFailure("\(at): \"metadata\" must be a JSON object")
                }
                metadata = fields
            }
            return IngestDocument(id: id, text: body, metadata: metadata)
        }
    }
}


import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

import ArgumentParser

/// Where the CLI's ingest and search find a running `nestor serve`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL (env NESTOR_URL).") var url = ProcessInfo.processInfo.environment["NESTOR_URL"] ?? "http://127.0.0.1:8080"
    @Option(help: "API key, if the server requires one (env NESTOR_API_KEY).") var apiKey: String?

    func client() throws -> ServerClient {
        guard let base = URL(string: url) else { throw ValidationError("--url is not a URL: \(url)") }
        return ServerClient(base: base, apiKey: apiKey ?? ProcessInfo.processInfo.environment["NESTOR_API_KEY"])
    }
}

/// A minimal JSON client for a running `nestor serve`, for the CLI's ingest and search.
struct ServerClient {
    let base: URL
    let apiKey: String?

    func post(_ path: String, _ body: [String: Any]) async throws -> [String: Any] {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.timeoutInterval = 600
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let message = ((json["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(status)"
            throw CommandFailure("\(path): \(message)")
        }
        return json
    }
}

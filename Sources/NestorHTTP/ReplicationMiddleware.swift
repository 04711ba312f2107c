import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import NestorCore

extension HTTPFields.Element.Name {
    /// The log position a response reflects (every change up to it is visible on the replica
    /// that answered; a write's response names its own commit).
    static let nestorPosition = HTTPFields.Element.Name("Nestor-Position")!
    /// A read that must see at least this position waits for the replica to reach it.
    static let nestorMinPosition = HTTPFields.Element.Name("Nestor-Min-Position")!
    /// Set on a write a follower passes to the writer, so it is never passed on twice.
    static let nestorForwarded = HTTPFields.Element.Name("Nestor-Forwarded-By")!
}

/// Replicas over HTTP: a client may talk to any replica. A write that reaches a follower is
/// forwarded to the writer and its answer relayed as it came (forwarding rather than a 307,
/// because many clients — Python's urllib, several SDKs — do not repeat a POST body after a
/// redirect); every response carries `Nestor-Position`; a request with `Nestor-Min-Position`
/// waits (up to `readWait`) until this replica has applied that position: read-your-writes
/// across replicas. Standalone servers (SQLite) keep no positions and refuse the header.
struct ReplicationMiddleware<Context: RequestContext>: RouterMiddleware {
    let replica: ReplicaState
    /// Which routes write: the table the routes were registered in.
    let routes: RouteTable
    let forwarder: WriteForwarder
    var readWait: Duration = .seconds(10)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let raw = request.headers[.nestorMinPosition] {
            guard let target = LogPosition(raw.trimmingCharacters(in: .whitespaces)), target >= 0 else {
                throw APIError.badRequest("Nestor-Min-Position must be a log position (a non-negative integer), got \(raw)")
            }
            guard replica.role != .standalone else {
                throw APIError.badRequest("this server keeps no change log (it is not a replica on PostgreSQL); drop Nestor-Min-Position")
            }
            guard await replica.wait(until: target, timeout: readWait) else {
                throw APIError(.serviceUnavailable, "this replica is at log position \(replica.position) and did not reach \(target) "
                               + "within \(readWait); retry, or read from the writer")
            }
        }
        if replica.role == .follower, routes.isWrite(request.method, request.uri.path) {
            guard request.headers[.nestorForwarded] == nil else {
                throw APIError(.serviceUnavailable, "the writer changed while this write was forwarded; retry it")
            }
            guard let writer = replica.writerURL else {
                throw APIError(.serviceUnavailable, "no writer is elected at the moment; retry shortly")
            }
            return try await forwarder.forward(request, to: writer)
        }
        guard replica.role != .standalone else { return try await next(request, context) }
        let commits = CommitRecorder()
        var response = try await ReplicaState.$commits.withValue(commits) { try await next(request, context) }
        response.headers[.nestorPosition] = String(max(commits.position ?? 0, replica.position))
        return response
    }
}

/// Passes a write on to the writer and relays its answer: status, body, content type and the
/// writer's `Nestor-Position`.
struct WriteForwarder: Sendable {
    let maxBodyBytes: Int
    let timeout: Double
    let via: String
    private let session: URLSession

    init(maxBodyBytes: Int, timeout: Double, via: String) {
        self.maxBodyBytes = maxBodyBytes
        self.timeout = timeout
        self.via = via
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: config)
    }

    func forward(_ request: Request, to writer: String) async throws -> Response {
        let target = writer.hasSuffix("/") ? String(writer.dropLast()) : writer
        guard let url = URL(string: target + (request.uri.string.hasPrefix("/") ? request.uri.string : "/" + request.uri.string)) else {
            throw APIError(.serviceUnavailable, "the writer's advertised address \(writer) is not a URL")
        }
        let body = try await request.body.collect(upTo: maxBodyBytes)
        var out = URLRequest(url: url)
        out.httpMethod = request.method.rawValue
        out.httpBody = Data(body.readableBytesView)
        for name in [HTTPFields.Element.Name.contentType, .authorization, .accept] {
            if let v = request.headers[name] { out.setValue(v, forHTTPHeaderField: name.rawName) }
        }
        out.setValue(via, forHTTPHeaderField: HTTPFields.Element.Name.nestorForwarded.rawName)
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await session.data(for: out)
        } catch {
            throw APIError(.serviceUnavailable, "the writer at \(writer) did not answer (\(error.localizedDescription)); retry shortly")
        }
        guard let http = response as? HTTPURLResponse else { throw APIError(.badGateway, "the writer at \(writer) sent no HTTP response") }
        var headers = HTTPFields()
        if let t = http.value(forHTTPHeaderField: "Content-Type") { headers[.contentType] = t }
        if let p = http.value(forHTTPHeaderField: HTTPFields.Element.Name.nestorPosition.rawName) { headers[.nestorPosition] = p }
        return Response(status: HTTPResponse.Status(code: http.statusCode), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

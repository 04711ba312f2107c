/// What `nestor serve` is launched with (flags or environment variables).
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Names clients may use in `model`; the first is reported as the served model.
    public var modelNames: [String] = []
    /// When non-empty, every endpoint but `/health` needs `Authorization: Bearer <key>`.
    public var apiKeys: [String] = []
    public var maxBodyBytes = 8 << 20
    public var maxInputs = 2048
    /// `/ingest` carries whole documents, so it may be larger than other requests.
    public var maxIngestBodyBytes = 64 << 20
    /// Seconds a connection may stay idle (between requests, or sending a request head) before
    /// it is closed. Short, so that connections parked past the cap wait little for a slot.
    public var idleTimeout: Double = 15
    /// Seconds a request body may take to arrive in full.
    public var bodyTimeout: Double = 60
    /// Open connections at most; further ones wait in the listen backlog. `serve` defaults it
    /// to half the process's file-descriptor limit, at most 4,096.
    public var maxConnections = 512
    /// Refuse token-id input to the embeddings routes (deployments that expect text only).
    public var textInputOnly = false
    /// Embed over-long inputs piece by piece and pool the pieces (vLLM's
    /// `enable_chunked_processing`) unless a request says otherwise; off: they are truncated.
    public var chunkedProcessing = false
    /// Seconds a follower waits for the writer's answer to a write it forwarded (an ingest
    /// embeds its documents there).
    public var forwardTimeout: Double = 300

    public init() {}
}

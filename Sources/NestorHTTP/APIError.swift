import Foundation
import Hummingbird
import NestorCore

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, which the
/// official clients parse; every failure the server reports goes through it.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    /// The `Allow` header of a 405: the methods the path takes.
    public var allow: String?

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.type = type ?? Self.defaultType(status)
    }

    /// OpenAI's vocabulary: every client error is an `invalid_request_error` except a bad key;
    /// server-side failures are `server_error`.
    static func defaultType(_ s: HTTPResponse.Status) -> String {
        switch s.code {
        case 401: "authentication_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    public static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(.badRequest, message, param: param)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let w = JSONWriter()
        w.object {
            w.key("error")
            w.object {
                w.field("message", message)
                w.field("type", type)
                w.key("param"); if let param { w.string(param) } else { w.null() }
                // A string, as OpenAI's clients type it (`code: Optional[str]`): the HTTP status.
                w.field("code", String(status.code))
            }
        }
        var response = w.response(status: status)
        if let allow { response.headers[.allow] = allow }
        return response
    }

    /// Maps the engine's input errors to 4xx; anything else is the server's fault.
    public init(_ e: EmbeddingError) {
        switch e.code {
        case .inputTooLong, .invalidInput, .invalidDimensions, .unknownPrompt:
            self.init(.badRequest, e.message, param: e.param)
        case .overloaded, .upstreamUnavailable:
            self.init(.serviceUnavailable, e.message)
        case .upstreamFailure:
            self.init(.badGateway, e.message)
        case .upstreamTimeout:
            self.init(.gatewayTimeout, e.message)
        case .internalFailure:
            self.init(.internalServerError, "the server failed to embed the input")
        }
    }
}

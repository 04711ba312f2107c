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

    public init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.type = type ?? Self.defaultType(status)
    }

    static func defaultType(_ s: HTTPResponse.Status) -> String {
        switch s.code {
        case 401: "authentication_error"
        case 404: "NotFoundError"
        case 413: "request_too_large"
        case 500...: "internal_server_error"
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
                w.field("code", Int(status.code))
            }
        }
        return w.response(status: status)
    }

    /// Maps the engine's input errors to 4xx; anything else is the server's fault.
    public init(_ e: EmbeddingError) {
        switch e.code {
        case .inputTooLong, .invalidInput, .invalidDimensions, .unknownPrompt:
            self.init(.badRequest, e.message, param: e.param)
        case .overloaded:
            self.init(.serviceUnavailable, e.message)
        case .internalFailure:
            self.init(.internalServerError, "the server failed to embed the input")
        }
    }
}

/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`; the test suite checks
/// that every route the router serves is described here. The document is `openapi.json` beside
/// this file, compiled into the binary, so it is edited as JSON rather than as a Swift literal.
enum OpenAPIDocument {
    static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)
}

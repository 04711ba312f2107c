import ArgumentParser
import Foundation
import NestorCore
import StorePostgres
import StoreSQLite

/// Where data lives: PostgreSQL when a URL is given, else the embedded SQLite file.
struct StoreOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL, postgres://user:password@host:port/database[?statement_timeout=60s] (env NESTOR_DATABASE_URL).")
    var databaseURL: String?
    @Option(help: "SQLite file used when no PostgreSQL URL is given (env NESTOR_SQLITE_PATH; default data/nestor.sqlite).")
    var sqlitePath: String?

    /// The store and a description of it for log lines. A PostgreSQL store does nothing until
    /// its `run()` runs (in `serve`'s ServiceGroup, or through `withStore`).
    func open() throws -> (store: any IndexStore, description: String) {
        let env = ProcessInfo.processInfo.environment
        if let url = databaseURL ?? env["NESTOR_DATABASE_URL"] {
            return (try PostgresStore(url: url), "PostgreSQL database")
        }
        let path = sqlitePath ?? env["NESTOR_SQLITE_PATH"] ?? "data/nestor.sqlite"
        return (try SQLiteStore(path: path), "SQLite file \(path)")
    }

    /// Opens the store and keeps it running while `body` works with it (tools: migrate, the
    /// direct CLI, debug).
    func withStore<T: Sendable>(_ body: @Sendable (any IndexStore, String) async throws -> T) async throws -> T {
        let (store, description) = try open()
        if let pg = store as? PostgresStore { return try await pg.whileRunning { try await body($0, description) } }
        return try await body(store, description)
    }
}

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

    /// The store and a description of it for log lines.
    func open() throws -> (store: any DocumentStore, description: String) {
        let env = ProcessInfo.processInfo.environment
        if let url = databaseURL ?? env["NESTOR_DATABASE_URL"] {
            return (try PostgresStore(url: url), "PostgreSQL database")
        }
        let path = sqlitePath ?? env["NESTOR_SQLITE_PATH"] ?? "data/nestor.sqlite"
        return (try SQLiteStore(path: path), "SQLite file \(path)")
    }
}

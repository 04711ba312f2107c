import ArgumentParser
import Foundation
import NestorCore
import StorePostgres
import StoreSQLite

/// `nestor migrate`: applies the schema migrations to the configured database.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply database migrations (SQLite by default, or PostgreSQL).")

    @Option(help: "PostgreSQL URL, postgres://user:password@host:port/database (env NESTOR_DATABASE_URL).")
    var databaseURL: String?
    @Option(help: "SQLite file used when no PostgreSQL URL is given (env NESTOR_SQLITE_PATH).")
    var sqlitePath: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let store: any DocumentStore
        let target: String
        if let url = databaseURL ?? env["NESTOR_DATABASE_URL"] {
            store = try PostgresStore(url: url)
            target = "PostgreSQL database"
        } else {
            let path = sqlitePath ?? env["NESTOR_SQLITE_PATH"] ?? "data/nestor.sqlite"
            store = try SQLiteStore(path: path)
            target = path
        }
        do {
            try await store.migrate()
        } catch {
            throw CommandFailure("migration failed: \(error)")
        }
        print("\(target): schema is up to date")
    }
}

/// A failure of the command's work (not of its arguments): printed without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

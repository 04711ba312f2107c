import ArgumentParser
import Foundation
import NestorCore

/// `nestor migrate`: applies the schema migrations to the configured database.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply database migrations (SQLite by default, or PostgreSQL).")

    @OptionGroup var storage: StoreOptions

    func run() async throws {
        let target = try await storage.withStore { store, target in
            do {
                try await store.migrate()
            } catch {
                throw CommandFailure("migration failed: \(error)")
            }
            return target
        }
        print("\(target): schema is up to date")
    }
}

/// A failure of the command's work (not of its arguments): printed without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

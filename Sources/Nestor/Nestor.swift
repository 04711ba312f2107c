import ArgumentParser

@main
struct NestorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nestor",
        abstract: "Semantic search with its own embedding engine and vector index.",
        subcommands: [ServeCommand.self, IngestCommand.self, SearchCommand.self, EmbedCommand.self, TokenizeCommand.self, MigrateCommand.self, DebugCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

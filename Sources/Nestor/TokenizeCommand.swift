import ArgumentParser
import Tokenization

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids a model's tokenizer.json gives for each text.")

    @Option(help: "A tokenizer.json file or a model folder that holds one.") var tokenizer: String
    @Flag(help: "Print JSON with ids, tokens and offsets.") var json = false
    @Argument(help: "Texts to tokenize.") var texts: [String] = []

    func run() async throws {
        throw ValidationError("not implemented yet")
    }
}

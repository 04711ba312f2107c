import ArgumentParser
import Foundation
import Tokenization

/// `--tokenizer-mode transformers|tokenizers` on serve, embed, tokenize and --direct ingest/search.
extension TokenizerMode: ExpressibleByArgument {
    static let help = ArgumentHelp(
        "Tokenize as transformers 5's AutoTokenizer (sentence-transformers, vLLM, SGLang) or as tokenizer.json says (Hugging Face tokenizers).",
        valueName: "transformers|tokenizers")

    /// The flag's value, else NESTOR_TOKENIZER_MODE, else transformers.
    static func resolve(_ flag: TokenizerMode?) throws -> TokenizerMode {
        if let flag { return flag }
        guard let env = ProcessInfo.processInfo.environment["NESTOR_TOKENIZER_MODE"], !env.isEmpty else { return .transformers }
        guard let mode = TokenizerMode(rawValue: env) else {
            throw ValidationError("NESTOR_TOKENIZER_MODE must be transformers or tokenizers, not \(env)")
        }
        return mode
    }
}

/// `nestor tokenize`: what a model's tokenizer makes of some text, for users debugging a model.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids a tokenizer.json gives for each text.")

    @Option(help: "A tokenizer.json file, or a model folder that holds one.") var tokenizer: String
    @Option(help: TokenizerMode.help) var tokenizerMode: TokenizerMode?
    @Flag(help: "Print one JSON object per text with ids, tokens and offsets.") var json = false
    @Flag(help: "Also print the text decoded back from the ids.") var decode = false
    @Flag(help: "Leave out the special tokens the post-processor adds.") var noSpecialTokens = false
    @Flag(help: "Read one text per line from standard input instead of arguments.") var stdin = false
    @Argument(help: "Texts to tokenize.") var texts: [String] = []

    func run() async throws {
        let tok: Tokenizer
        do {
            tok = try Tokenizer(contentsOf: URL(fileURLWithPath: tokenizer), mode: try TokenizerMode.resolve(tokenizerMode))
        } catch let e as TokenizerError {
            throw ValidationError(e.description)
        }
        var inputs = texts
        if stdin {
            while let line = readLine(strippingNewline: true) { inputs.append(line) }
        }
        for text in inputs {
            let e = try tok.encode(text, addSpecialTokens: !noSpecialTokens)
            if json {
                var obj: [String: Any] = [
                    "ids": e.ids, "tokens": e.tokens, "offsets": e.offsets.map { [$0.start, $0.end] },
                    "type_ids": e.typeIds, "attention_mask": e.attentionMask,
                ]
                if decode { obj["decoded"] = try tok.decode(e.ids) }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(e.ids.map(String.init).joined(separator: " "))
                if decode { print(try tok.decode(e.ids)) }
            }
        }
    }
}

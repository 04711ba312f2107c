import Testing
@testable import Retrieval

/// The chunker on whitespace "tokens" (each word one token), so expectations are readable.
@Suite struct ChunkerTests {
    static func spans(_ text: String) -> [Range<Int>] {
        var out = [Range<Int>]()
        var start: Int?
        for (i, s) in text.unicodeScalars.enumerated() {
            if s.properties.isWhitespace { if let b = start { out.append(b..<i); start = nil } } else if start == nil { start = i }
        }
        if let b = start { out.append(b..<text.unicodeScalars.count) }
        return out
    }

    @Test func shortTextIsOneChunk() {
        let text = "  Hello world.  "
        let c = Chunker.split(text, spans: Self.spans(text), options: .init(maxTokens: 10))
        #expect(c == [TextChunk(text: "Hello world.", tokenStart: 0, tokenEnd: 2)])
    }

    @Test func prefersParagraphThenSentenceBoundaries() {
        let text = "one two three. four five six.\n\nseven eight nine ten. eleven twelve."
        let c = Chunker.split(text, spans: Self.spans(text), options: .init(maxTokens: 8))
        #expect(c.map(\.text) == ["one two three. four five six.", "seven eight nine ten. eleven twelve."])
        let s = Chunker.split(text, spans: Self.spans(text), options: .init(maxTokens: 5))
        #expect(s.map(\.text) == ["one two three.", "four five six.", "seven eight nine ten.", "eleven twelve."])
    }

    @Test func everyChunkRespectsTheLimitAndCoversTheText() {
        let words = (0..<500).map { "w\($0)" + ($0 % 7 == 6 ? "." : "") }
        let text = words.joined(separator: " ")
        for (limit, overlap) in [(16, 0), (16, 4), (50, 10), (1, 0), (3, 1)] {
            let c = Chunker.split(text, spans: Self.spans(text), options: .init(maxTokens: limit, overlapTokens: overlap))
            #expect(c.allSatisfy { $0.tokenEnd - $0.tokenStart <= limit && $0.tokenEnd > $0.tokenStart })
            #expect(c.first?.tokenStart == 0 && c.last?.tokenEnd == 500)
            for (a, b) in zip(c, c.dropFirst()) {
                #expect(b.tokenStart <= a.tokenEnd && b.tokenStart > a.tokenStart)
                if overlap == 0 { #expect(b.tokenStart == a.tokenEnd) }
            }
        }
    }

    @Test func cjkSentencesWithoutSpacesSplitAtFullStops() {
        let text = "今天天气很好。我们去公园散步。然后回家吃饭。"
        let spans = (0..<text.unicodeScalars.count).map { $0..<($0 + 1) }
        let c = Chunker.split(text, spans: spans, options: .init(maxTokens: 8))
        #expect(c.map(\.text) == ["今天天气很好。", "我们去公园散步。", "然后回家吃饭。"])
    }
}

/// How documents are cut into passages; defaults come from the model's input limit.
public struct ChunkingOptions: Sendable, Equatable {
    public var maxTokens: Int
    public var overlapTokens: Int
    public init(maxTokens: Int, overlapTokens: Int = 0) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }
}

/// One passage: its text (a slice of the document) and its token span in the document.
public struct TextChunk: Sendable, Equatable {
    public var text: String
    public var tokenStart: Int
    public var tokenEnd: Int
}

/// Splits a document into token-bounded chunks, cutting where the text itself breaks: a blank
/// line first, then a line end, then a sentence end, then a space, and only inside a word when
/// a single word is longer than a chunk. Works on the model's own token boundaries, so a chunk
/// never holds more tokens than the model reads, in any script.
public enum Chunker {
    /// Sentence-final punctuation across scripts (Latin, CJK full-width, Devanagari, Arabic, …).
    static let sentenceEnds: Set<Unicode.Scalar> = [".", "!", "?", ";", "…", "。", "！", "？", "；", "।", "؟", "۔", "‼", "⁇"]

    /// `spans`: each token's range of Unicode-scalar offsets in `text`, in order (no special tokens).
    public static func split(_ text: String, spans: [Range<Int>], options: ChunkingOptions) -> [TextChunk] {
        let scalars = Array(text.unicodeScalars)
        let n = spans.count
        guard n > 0 else { return [] }
        let maxTokens = max(1, options.maxTokens)
        let overlap = min(max(0, options.overlapTokens), maxTokens / 2)
        func slice(_ a: Int, _ b: Int) -> TextChunk {
            let lo = spans[a].lowerBound, hi = max(lo, spans[b - 1].upperBound)
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[max(0, lo)..<min(scalars.count, hi)])
            return TextChunk(text: String(s), tokenStart: a, tokenEnd: b)
        }
        guard n > maxTokens else { return [slice(0, n)] }
        // strength[t]: how good a cut is just before token t.
        var strength = [Int](repeating: 0, count: n + 1)
        for t in 1..<n {
            let gapStart = spans[t - 1].upperBound, gapEnd = max(gapStart, spans[t].lowerBound)
            let gap = scalars[min(gapStart, scalars.count)..<min(gapEnd, scalars.count)]
            let newlines = gap.filter { $0 == "\n" }.count
            let previous = gapStart > 0 && gapStart <= scalars.count ? scalars[gapStart - 1] : " "
            if newlines >= 2 { strength[t] = 4 } else if newlines == 1 { strength[t] = 3 }
            else if sentenceEnds.contains(previous) && (!gap.isEmpty || previous.value >= 0x3000) { strength[t] = 2 }
            else if gap.contains(where: { $0.properties.isWhitespace }) { strength[t] = 1 }
        }
        var chunks = [TextChunk]()
        var start = 0
        while start < n {
            let limit = start + maxTokens
            if limit >= n { chunks.append(slice(start, n)); break }
            // The strongest cut in the second half of the window (so chunks stay large), latest on ties.
            var end = limit
            var best = -1
            for t in stride(from: limit, to: start + max(1, maxTokens / 2), by: -1) where strength[t] > best {
                best = strength[t]
                end = t
            }
            chunks.append(slice(start, end))
            guard overlap > 0 else { start = end; continue }
            // Start the next chunk up to `overlap` tokens back, at a word start when there is one.
            var next = end - overlap
            if let w = (next..<end).first(where: { strength[$0] >= 1 }) { next = w }
            start = max(next, start + 1)
        }
        return chunks
    }
}

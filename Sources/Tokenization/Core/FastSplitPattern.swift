/// Hand-written scanners for the GPT-2, Llama-3 and Qwen2/3 split regexes, which byte-level BPE
/// tokenizers run on every input. They implement the regex semantics exactly (leftmost
/// alternative wins; backtracking of `\s*[\r\n]+` and `\s+(?!\S)` worked out by hand), with
/// `\s` = White_Space, `\p{L}` = letters, `\p{N}` = numbers, as Oniguruma defines them.
struct FastSplitPattern: Sendable {
    enum Flavor: Sendable { case gpt2, llama3, qwen2 }
    let flavor: Flavor

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init?(pattern: String) {
        switch pattern {
        case Self.gpt2Source: flavor = .gpt2
        case Self.llama3Source: flavor = .llama3
        case Self.qwen2Source: flavor = .qwen2
        default: return nil
        }
    }

    init(flavor: Flavor) { self.flavor = flavor }

    private enum Kind { case letter, number, space, newline, other }

    @inline(__always) private static func kind(_ c: Unicode.Scalar) -> Kind {
        let v = c.value
        if v < 0x80 {
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) { return .letter }
            if v >= 0x30 && v <= 0x39 { return .number }
            if v == 0x0A || v == 0x0D { return .newline }
            if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .space }
            return .other
        }
        if CharacterClass.isRegexLetter(c) { return .letter }
        if CharacterClass.isRegexNumber(c) { return .number }
        return CharacterClass.isRegexSpace(c) ? .space : .other
    }

    func matches(in s: [Unicode.Scalar]) -> [Range<Int>] {
        let n = s.count
        var kinds = [Kind]()
        kinds.reserveCapacity(n)
        for c in s { kinds.append(Self.kind(c)) }
        @inline(__always) func isSpace(_ k: Kind) -> Bool { k == .space || k == .newline }
        var out = [Range<Int>]()
        out.reserveCapacity(n / 3 + 1)
        var i = 0
        while i < n {
            let end = matchAt(i, s, kinds, n)
            out.append(i..<end)
            i = end
        }
        return out

        func runEnd(_ from: Int, _ pred: (Kind) -> Bool) -> Int {
            var j = from
            while j < n, pred(kinds[j]) { j += 1 }
            return j
        }

        func matchAt(_ i: Int, _ s: [Unicode.Scalar], _ kinds: [Kind], _ n: Int) -> Int {
            let k = kinds[i]
            // Contractions.
            if s[i] == "'", i + 1 < n {
                if let e = contraction(s, i + 1, n, caseInsensitive: flavor != .gpt2) { return e }
            }
            switch flavor {
            case .gpt2:
                let hasSpace = s[i] == " " && i + 1 < n
                let j = hasSpace ? i + 1 : i
                let kj = kinds[j]
                if kj == .letter && (hasSpace || k == .letter) { return runEnd(j) { $0 == .letter } }
                if kj == .number && (hasSpace || k == .number) { return runEnd(j) { $0 == .number } }
                if kj == .other && (hasSpace || k == .other) { return runEnd(j) { $0 == .other } }
            case .llama3, .qwen2:
                if k == .letter { return runEnd(i) { $0 == .letter } }
                if k == .other || (k == .space && s[i] != "\r" && s[i] != "\n"), i + 1 < n, kinds[i + 1] == .letter,
                   k != .newline {
                    // `[^\r\n\p{L}\p{N}]?\p{L}+`: one non-letter, non-number, non-newline prefix.
                    return runEnd(i + 1) { $0 == .letter }
                }
                if k == .number {
                    if flavor == .qwen2 { return i + 1 }
                    var j = i
                    while j < n, j - i < 3, kinds[j] == .number { j += 1 }
                    return j
                }
                let hasSpace = s[i] == " " && i + 1 < n && kinds[i + 1] == .other
                if hasSpace || k == .other {
                    let j = runEnd(hasSpace ? i + 1 : i) { $0 == .other }
                    return runEnd(j) { $0 == .newline }
                }
                // `\s*[\r\n]+`: up to the last newline of the white-space run, plus its newline run.
                let ws = runEnd(i, isSpace)
                var lastNewline = -1
                for q in stride(from: ws - 1, through: i, by: -1) where kinds[q] == .newline {
                    lastNewline = q
                    break
                }
                if lastNewline >= 0 { return lastNewline + 1 }
            }
            // `\s+(?!\S)` then `\s+`.
            let ws = runEnd(i, isSpace)
            if ws > i {
                if ws == n { return ws }
                if ws - i >= 2 { return ws - 1 }
                return ws
            }
            // Unreachable for well-formed kinds; advance one scalar so the scan always ends.
            return i + 1
        }
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` after the apostrophe at `j - 1`; returns the match end.
    private func contraction(_ s: [Unicode.Scalar], _ j: Int, _ n: Int, caseInsensitive: Bool) -> Int? {
        @inline(__always) func lower(_ c: Unicode.Scalar) -> UInt32 {
            caseInsensitive && c.value >= 0x41 && c.value <= 0x5A ? c.value + 32 : c.value
        }
        let a = lower(s[j])
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return j + 1  // s t m d
        case 0x72, 0x76:  // re ve
            if j + 1 < n, lower(s[j + 1]) == 0x65 { return j + 2 }
        case 0x6C:  // ll
            if j + 1 < n, lower(s[j + 1]) == 0x6C { return j + 2 }
        default: break
        }
        return nil
    }
}

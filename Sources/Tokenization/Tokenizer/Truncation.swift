/// How over-long inputs are cut (Hugging Face `TruncationParams`).
public struct TruncationParams: Sendable, Equatable {
    public enum Strategy: String, Sendable { case longestFirst = "longest_first", onlyFirst = "only_first", onlySecond = "only_second" }
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }

    public var maxLength: Int
    public var stride: Int
    public var strategy: Strategy
    public var direction: Direction

    public init(maxLength: Int, stride: Int = 0, strategy: Strategy = .longestFirst, direction: Direction = .right) {
        self.maxLength = maxLength
        self.stride = stride
        self.strategy = strategy
        self.direction = direction
    }

    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        maxLength = try json["max_length"].int()
        stride = try json["stride"].intIfPresent() ?? 0
        let s = try json["strategy"].stringIfPresent() ?? "LongestFirst"
        switch s {
        case "LongestFirst", "longest_first": strategy = .longestFirst
        case "OnlyFirst", "only_first": strategy = .onlyFirst
        case "OnlySecond", "only_second": strategy = .onlySecond
        default: throw json["strategy"].invalid("unknown truncation strategy \"\(s)\"")
        }
        let d = try json["direction"].stringIfPresent() ?? "Right"
        guard let dir = Direction(rawValue: d) else { throw json["direction"].invalid("unknown truncation direction \"\(d)\"") }
        direction = dir
    }
}

extension Encoding {
    /// Keeps `maxLength` tokens from the start (right truncation) or the end (left); the rest
    /// become `overflowing` windows that overlap by `stride`.
    mutating func truncate(_ maxLength: Int, stride: Int, direction: TruncationParams.Direction) {
        let n = count
        guard maxLength < n else { return }
        if maxLength == 0 {
            let whole = self
            self = Encoding()
            overflowing = [whole]
            return
        }
        let step = max(1, maxLength - min(stride, maxLength - 1))
        var parts = [Range<Int>]()
        switch direction {
        case .right:
            var start = 0
            while true {
                let stop = min(start + maxLength, n)
                parts.append(start..<stop)
                if stop == n { break }
                start += step
            }
        case .left:
            var stop = n
            while true {
                let start = max(0, stop - maxLength)
                parts.append(start..<stop)
                if start == 0 { break }
                stop -= step
            }
        }
        let whole = self
        self = whole.slice(parts[0])
        overflowing = parts.dropFirst().map { whole.slice($0) }
    }

    func slice(_ r: Range<Int>) -> Encoding {
        Encoding(
            ids: Array(ids[r]), typeIds: Array(typeIds[r]), tokens: Array(tokens[r]), offsets: Array(offsets[r]),
            specialTokensMask: Array(specialTokensMask[r]), attentionMask: Array(attentionMask[r]),
            sequenceIds: Array(sequenceIds[r]))
    }
}

/// Hugging Face `truncate_encodings`.
func truncateEncodings(_ first: inout Encoding, _ pair: inout Encoding?, _ p: TruncationParams) throws {
    if p.maxLength == 0 {
        first.truncate(0, stride: p.stride, direction: p.direction)
        pair?.truncate(0, stride: p.stride, direction: p.direction)
        return
    }
    let total = first.count + (pair?.count ?? 0)
    guard total > p.maxLength else { return }
    let toRemove = total - p.maxLength
    switch p.strategy {
    case .longestFirst:
        if var other = pair {
            var n1 = first.count, n2 = other.count
            let swap = n1 > n2
            if swap { swap2(&n1, &n2) }
            if n1 > p.maxLength { n2 = n1 } else { n2 = max(n1, p.maxLength - n1) }
            if n1 + n2 > p.maxLength {
                n1 = p.maxLength / 2
                n2 = n1 + p.maxLength % 2
            }
            if swap { swap2(&n1, &n2) }
            first.truncate(n1, stride: p.stride, direction: p.direction)
            other.truncate(n2, stride: p.stride, direction: p.direction)
            pair = other
        } else {
            first.truncate(total - toRemove, stride: p.stride, direction: p.direction)
        }
    case .onlyFirst, .onlySecond:
        if p.strategy == .onlySecond && pair == nil {
            throw TokenizerError(.invalidValue, path: "truncation.strategy", "only_second needs a pair of sequences")
        }
        if p.strategy == .onlyFirst {
            guard first.count > toRemove else { throw tooShort() }
            first.truncate(first.count - toRemove, stride: p.stride, direction: p.direction)
        } else if var other = pair {
            guard other.count > toRemove else { throw tooShort() }
            other.truncate(other.count - toRemove, stride: p.stride, direction: p.direction)
            pair = other
        }
    }

    func tooShort() -> TokenizerError {
        TokenizerError(.invalidValue, path: "truncation", "the sequence to truncate is shorter than what must be removed")
    }
}

private func swap2(_ a: inout Int, _ b: inout Int) { (a, b) = (b, a) }

/// Padding of a batch (Hugging Face `PaddingParams`).
public struct PaddingParams: Sendable, Equatable {
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }
    /// nil pads to the longest encoding of the batch.
    public var fixedLength: Int?
    public var direction: Direction
    public var padToMultipleOf: Int?
    public var padId: Int
    public var padTypeId: Int
    public var padToken: String

    public init(fixedLength: Int? = nil, direction: Direction = .right, padToMultipleOf: Int? = nil,
                padId: Int = 0, padTypeId: Int = 0, padToken: String = "[PAD]") {
        self.fixedLength = fixedLength
        self.direction = direction
        self.padToMultipleOf = padToMultipleOf
        self.padId = padId
        self.padTypeId = padTypeId
        self.padToken = padToken
    }

    init?(json: JSONNode) throws {
        if json.isNull { return nil }
        if case .object = json["strategy"].value {
            fixedLength = try json["strategy"]["Fixed"].int()
        } else {
            fixedLength = nil
        }
        let d = try json["direction"].stringIfPresent() ?? "Right"
        guard let dir = Direction(rawValue: d) else { throw json["direction"].invalid("unknown padding direction \"\(d)\"") }
        direction = dir
        padToMultipleOf = try json["pad_to_multiple_of"].intIfPresent()
        padId = try json["pad_id"].intIfPresent() ?? 0
        padTypeId = try json["pad_type_id"].intIfPresent() ?? 0
        padToken = try json["pad_token"].stringIfPresent() ?? "[PAD]"
    }

    func pad(_ encodings: inout [Encoding]) {
        var target = fixedLength ?? encodings.map(\.count).max() ?? 0
        if let m = padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
        for i in encodings.indices { encodings[i].pad(to: target, self) }
    }
}

extension Encoding {
    mutating func pad(to length: Int, _ p: PaddingParams) {
        for i in overflowing.indices { overflowing[i].pad(to: length, p) }
        let n = length - count
        guard n > 0 else { return }
        func padded<T>(_ a: [T], _ v: T) -> [T] {
            p.direction == .right ? a + repeatElement(v, count: n) : Array(repeatElement(v, count: n)) + a
        }
        ids = padded(ids, p.padId)
        typeIds = padded(typeIds, p.padTypeId)
        tokens = padded(tokens, p.padToken)
        offsets = padded(offsets, Offset(0, 0))
        specialTokensMask = padded(specialTokensMask, 1)
        attentionMask = padded(attentionMask, 0)
        sequenceIds = padded(sequenceIds, nil)
    }
}

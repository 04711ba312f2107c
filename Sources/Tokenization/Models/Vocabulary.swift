/// A token ↔ id table shared by the models.
///
/// Keys compare by their exact UTF-8 bytes: Swift's `String` equality is canonical equivalence,
/// so with plain `String` keys two pieces that differ only in the order of combining marks
/// (Arabic shadda + kasra, for one) would collide and one of them would vanish.
struct Vocabulary: Sendable {
    private(set) var tokenToId: [ExactString: Int] = [:]
    private(set) var idToToken: [String?] = []

    init() {}

    init(pairs: some Sequence<(String, Int)>) {
        for (t, id) in pairs { insert(t, id: id) }
    }

    mutating func insert(_ token: String, id: Int) {
        tokenToId[ExactString(token)] = id
        if id >= idToToken.count { idToToken.append(contentsOf: repeatElement(nil, count: id - idToToken.count + 1)) }
        idToToken[id] = token
    }

    @inline(__always) func id(of token: String) -> Int? { tokenToId[ExactString(token)] }
    func token(of id: Int) -> String? { id >= 0 && id < idToToken.count ? idToToken[id] : nil }
    var count: Int { tokenToId.count }
}

/// A string hashed and compared by its UTF-8 bytes, not by canonical equivalence.
public struct ExactString: Hashable, Sendable {
    public let value: String
    @inline(__always) public init(_ value: String) {
        var v = value
        v.makeContiguousUTF8()
        self.value = v
    }

    public static func == (a: ExactString, b: ExactString) -> Bool { a.value.utf8.elementsEqual(b.value.utf8) }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in value.utf8 { hasher.combine(b) } }
    }
}

/// Reads a `{token: id}` object.
func readVocabObject(_ node: JSONNode) throws -> Vocabulary {
    var v = Vocabulary()
    guard case .object(let o) = node.value else { throw node.invalid("expected an object of token → id") }
    for (k, value) in o.entries {
        guard case .number(let d) = value, d >= 0, d < 1e9, d.rounded() == d else {
            throw node.invalid("id of \"\(k)\" is not a non-negative integer")
        }
        v.insert(k, id: Int(d))
    }
    return v
}

extension String {
    /// A string from a slice of scalars.
    @inline(__always) init(scalars: ArraySlice<Unicode.Scalar>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self = String(view)
    }
}

/// An open-addressing hash map from non-zero UInt64 keys to Int32 values: the byte trie of
/// the Unigram model has millions of edges, and this keeps it in two flat arrays.
struct FlatHashMap: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    @inline(__always) func get(_ key: UInt64) -> Int32? {
        var i = Self.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    mutating func set(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = Self.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key { values[i] = value; return }
            if k == 0 {
                keys[i] = key
                values[i] = value
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [Int32](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != 0 { set(k, v) }
    }
}

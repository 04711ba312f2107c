/// Unicode normalisation forms that keep every output scalar aligned with its source, with the
/// same alignment choices as Hugging Face's `unicode-normalization-alignments`: a decomposed
/// character's first scalar replaces it and the rest are inserted after it; a composed character
/// takes the place of its first component.
public enum UnicodeNormalizationForm: String, Sendable {
    case nfd = "NFD", nfkd = "NFKD", nfc = "NFC", nfkc = "NFKC"

    var compatibility: Bool { self == .nfkd || self == .nfkc }
    var composes: Bool { self == .nfc || self == .nfkc }
}

/// Lookup tables built once from `UnicodeTables`.
struct UnicodeData: Sendable {
    static let shared = UnicodeData()

    /// Code point → (start, length) into the flat table it came from.
    let canonical: [UInt32: (Int32, Int32)]
    let compatibility: [UInt32: (Int32, Int32)]
    let compositions: [UInt64: UInt32]
    /// Scalars that can be the second half of a primary composite.
    let secondHalves: Set<UInt32>

    private init() {
        func index(_ table: [UInt32]) -> [UInt32: (Int32, Int32)] {
            var d = [UInt32: (Int32, Int32)](minimumCapacity: table.count / 3)
            var i = 0
            while i + 1 < table.count {
                let n = Int(table[i + 1])
                d[table[i]] = (Int32(i + 2), Int32(n))
                i += 2 + n
            }
            return d
        }
        canonical = index(UnicodeTables.canonicalDecompositions)
        compatibility = index(UnicodeTables.compatibilityDecompositions)
        var comps = [UInt64: UInt32]()
        var seconds = Set<UInt32>()
        let t = UnicodeTables.primaryCompositions
        var i = 0
        while i + 2 < t.count {
            comps[UInt64(t[i]) << 32 | UInt64(t[i + 1])] = t[i + 2]
            seconds.insert(t[i + 1])
            i += 3
        }
        compositions = comps
        secondHalves = seconds
    }

    /// Appends the full decomposition of `c` to `out`.
    func decompose(_ c: UInt32, compat: Bool, into out: inout [UInt32]) {
        if c < 0xC0 && !(compat && c >= 0xA0) {
            out.append(c)
            return
        }
        if c >= hangulBase && c < hangulBase + hangulCount {
            let s = c - hangulBase
            out.append(leadBase + s / nCount)
            out.append(vowelBase + (s % nCount) / tCount)
            if s % tCount != 0 { out.append(trailBase + s % tCount) }
            return
        }
        if let (start, n) = canonical[c] {
            let t = UnicodeTables.canonicalDecompositions
            for k in Int(start)..<Int(start + n) { decompose(t[k], compat: compat, into: &out) }
            return
        }
        if compat, let (start, n) = compatibility[c] {
            let t = UnicodeTables.compatibilityDecompositions
            for k in Int(start)..<Int(start + n) { decompose(t[k], compat: compat, into: &out) }
            return
        }
        out.append(c)
    }

    func compose(_ a: UInt32, _ b: UInt32) -> UInt32? {
        if a >= leadBase && a < leadBase + 19 && b >= vowelBase && b < vowelBase + 21 {
            return hangulBase + ((a - leadBase) * 21 + (b - vowelBase)) * tCount
        }
        if a >= hangulBase && a < hangulBase + hangulCount && (a - hangulBase) % tCount == 0
            && b > trailBase && b < trailBase + tCount {
            return a + (b - trailBase)
        }
        guard secondHalves.contains(b) else { return nil }
        return compositions[UInt64(a) << 32 | UInt64(b)]
    }
}

private let hangulBase: UInt32 = 0xAC00
private let hangulCount: UInt32 = 11172
private let leadBase: UInt32 = 0x1100
private let vowelBase: UInt32 = 0x1161
private let trailBase: UInt32 = 0x11A7
private let tCount: UInt32 = 28
private let nCount: UInt32 = 588

@inline(__always) func combiningClass(_ c: UInt32) -> UInt8 {
    if c < 0x300 { return 0 }
    return CharacterProperties.shared.combiningClass(c)
}

extension NormalizedString {
    /// Applies a Unicode normalisation form in place.
    public mutating func normalize(_ form: UnicodeNormalizationForm) {
        // ASCII is invariant under every form.
        if scalars.allSatisfy({ $0.value < 0x80 }) { return }
        let data = UnicodeData.shared
        // 1. Decompose each scalar: the first output replaces it, the others are inserted.
        var chars = [UInt32]()
        var changes = [Int]()
        chars.reserveCapacity(scalars.count + 8)
        changes.reserveCapacity(scalars.count + 8)
        var buf = [UInt32]()
        for s in scalars {
            buf.removeAll(keepingCapacity: true)
            data.decompose(s.value, compat: form.compatibility, into: &buf)
            for (k, c) in buf.enumerated() {
                chars.append(c)
                changes.append(k == 0 ? 0 : 1)
            }
        }
        // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
        var i = 0
        while i < chars.count {
            guard combiningClass(chars[i]) != 0 else { i += 1; continue }
            var j = i
            while j < chars.count, combiningClass(chars[j]) != 0 { j += 1 }
            if j - i > 1 {
                var run = Array(zip(chars[i..<j], changes[i..<j]))
                // Insertion sort keeps equal classes in order (runs are short).
                for a in 1..<run.count {
                    let item = run[a]
                    let cc = combiningClass(item.0)
                    var b = a - 1
                    while b >= 0, combiningClass(run[b].0) > cc {
                        run[b + 1] = run[b]
                        b -= 1
                    }
                    run[b + 1] = item
                }
                for (k, item) in run.enumerated() {
                    chars[i + k] = item.0
                    changes[i + k] = item.1
                }
            }
            i = j
        }
        // 3. Canonical composition; a composite stands in for all the slots its parts consumed.
        if form.composes {
            var outChars = [UInt32]()
            var outChanges = [Int]()
            outChars.reserveCapacity(chars.count)
            outChanges.reserveCapacity(chars.count)
            var starter: Int? = nil
            var lastClass: UInt8 = 0
            for k in chars.indices {
                let c = chars[k]
                let cc = combiningClass(c)
                if let si = starter,
                   outChars.count - 1 == si || (lastClass != 0 && lastClass < cc),
                   let composite = data.compose(outChars[si], c) {
                    outChars[si] = composite
                    outChanges[si] = mergeChanges(outChanges[si], changes[k])
                    continue
                }
                if cc == 0 {
                    starter = outChars.count
                    lastClass = 0
                } else {
                    lastClass = cc
                }
                outChars.append(c)
                outChanges.append(changes[k])
            }
            chars = outChars
            changes = outChanges
        }
        if chars.count == scalars.count && zip(chars, scalars).allSatisfy({ $0 == $1.value }) { return }
        transform(with: zip(chars, changes).map { (Unicode.Scalar($0.0) ?? "\u{FFFD}", $0.1) })
    }
}

/// The change of one scalar that stands for the original slots of two (see `transform`).
private func mergeChanges(_ a: Int, _ b: Int) -> Int {
    func consumed(_ c: Int) -> Int { c > 0 ? 0 : 1 - c }
    let k = consumed(a) + consumed(b)
    return k == 0 ? 1 : -(k - 1)
}

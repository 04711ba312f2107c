#if canImport(Glibc)
import Glibc
#endif

extension Array {
    /// Reserves room for `count` elements and asks the kernel to back it with 2 MB pages.
    /// A start-up fills gigabytes of vectors; with 4 KB pages that is a page fault per 4 KB,
    /// which on a virtual machine cost more than the copying itself. Only a hint: where
    /// transparent huge pages are off, or on other systems, nothing changes.
    public mutating func reserveCapacityInHugePages(_ count: Int) {
        reserveCapacity(count)
        #if os(Linux)
        let bytes = capacity * MemoryLayout<Element>.stride
        guard bytes >= 4 << 20 else { return }
        withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
            let end = (Int(bitPattern: base) + bytes) & ~(page - 1)
            guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(p, end - start, MADV_HUGEPAGE)
        }
        #endif
    }
}

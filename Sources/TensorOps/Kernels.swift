import CFloatGemm
import Foundation

/// Element-wise and row-wise kernels of transformer layers, over row-major float32 buffers.
/// Plain loops over unsafe pointers: the compiler vectorises them, and nothing allocates.
public enum Kernels {
    /// y = (x − mean) / sqrt(var + eps) · gamma + beta, per row of `width` values, in place.
    public static func layerNorm(
        _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float
    ) {
        for r in 0..<rows {
            let row = x + r * width
            var mean: Float = 0
            for i in 0..<width { mean += row[i] }
            mean /= Float(width)
            var variance: Float = 0
            for i in 0..<width { let d = row[i] - mean; variance += d * d }
            variance /= Float(width)
            let inv = 1 / (variance + eps).squareRoot()
            for i in 0..<width { row[i] = (row[i] - mean) * inv * gamma[i] + beta[i] }
        }
    }

    /// y = x / sqrt(mean(x²) + eps) · gamma, per row, in place.
    public static func rmsNorm(
        _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, eps: Float
    ) {
        for r in 0..<rows {
            let row = x + r * width
            var ss: Float = 0
            for i in 0..<width { ss += row[i] * row[i] }
            let inv = 1 / (ss / Float(width) + eps).squareRoot()
            for i in 0..<width { row[i] = row[i] * inv * gamma[i] }
        }
    }

    /// Adds `bias` (length `width`) to every row.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * width
            for i in 0..<width { row[i] += bias[i] }
        }
    }

    /// x += y, element-wise.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// GELU with the exact error function (PyTorch's default `gelu`), in place: a rational erf
    /// in double precision, 8 or 4 lanes wide by the CPU (`nestor_gelu` in CFloatGemm says why).
    /// `kernel` caps the vector width (tests): 0 portable, 1 AVX2, 2 the best available.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, kernel: Int = 2) {
        nestor_gelu(x, Int32(count), Int32(kernel))
    }

    /// x · sigmoid(x) (PyTorch `silu`), in place.
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = v / (1 + expf(-v))
        }
    }

    /// out[i] = silu(gate[i]) · up[i] (SwiGLU).
    public static func swiglu(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// Numerically stable softmax of one row in place.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var m = x[0]
        for i in 1..<count where x[i] > m { m = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - m)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }

    /// Rotary position embedding in Hugging Face's `rotate_half` layout: for each head of
    /// `headDim`, pairs (i, i + headDim/2) rotate by `position · θ^(−2i/headDim)`.
    /// `x` holds `rows` rows of `heads · headDim` values; `positions[r]` is row r's position.
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
        positions: UnsafePointer<Int32>, inverseFrequencies: UnsafePointer<Float>
    ) {
        let half = headDim / 2
        for r in 0..<rows {
            let p = Float(positions[r])
            for h in 0..<heads {
                let v = x + r * heads * headDim + h * headDim
                for i in 0..<half {
                    let angle = p * inverseFrequencies[i]
                    let c = cosf(angle), s = sinf(angle)
                    let a = v[i], b = v[i + half]
                    v[i] = a * c - b * s
                    v[i + half] = b * c + a * s
                }
            }
        }
    }
}

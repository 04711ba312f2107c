#ifndef NESTOR_INT8GEMM_H
#define NESTOR_INT8GEMM_H

#include <stddef.h>
#include <stdint.h>

/// Int8 matrix products for the engine's linear layers: y = x · Wᵀ + b with W quantised per
/// output channel to int8 (symmetric) at load time and x quantised per row to uint8
/// (asymmetric, dynamic) at run time; products accumulate exactly in int32, so every kernel
/// (AVX-512 VNNI, AVX-VNNI, AVX2, portable C) returns the same bits. Swift has no spelling for the
/// vpdpbusd / vpmaddwd instructions or for per-function target attributes, hence C.
///
/// Packed weight layout: output channels in blocks of 8, and within a block the reduction
/// dimension in groups of 4: byte [(block · kq + q) · 32 + j · 4 + t] = W[block · 8 + j][q · 4 + t],
/// zero beyond n or k. One 32-byte load is then 8 channels × 4 inputs, what one vpdpbusd takes.

/// Which kernel runs on this CPU: 3 = AVX-512 VNNI, 2 = AVX-VNNI, 1 = AVX2, 0 = portable C.
int nestor_q8_kernel(void);

/// k rounded up to a multiple of 4: the row length of quantised activations.
static inline int nestor_q8_kpad(int k) { return (k + 3) & ~3; }
/// Bytes of packed weights for n × k.
static inline size_t nestor_q8_packed_bytes(int n, int k) { return (size_t)((n + 7) / 8) * 8 * (size_t)nestor_q8_kpad(k); }

/// Quantises W (n × k floats, row-major) per output channel: scale[j] = max|W[j]| / 127, the
/// packed int8 values, and sums[j] = Σ_t q[j][t] (for the activations' zero point).
void nestor_q8_quantize_weights(const float *w, int n, int k, int8_t *packed, float *scale, int32_t *sums);

/// Quantises m rows of x (row stride ldx) to uint8 with a zero point per row; q is m × kpad.
void nestor_q8_quantize_rows(const float *x, int m, int k, int ldx, uint8_t *q, float *scale, int32_t *zero);

/// y[i][j] = xs[i] · ws[j] · (Σ_t q[i][t] · W[j][t] − zero[i] · sums[j]) + bias[j] for output
/// columns j in [j0, j1) (j0 a multiple of 8); bias may be NULL. `kernel` as nestor_q8_kernel
/// returns (tests force the others).
void nestor_q8_gemm(int m, int n, int k, const uint8_t *q, const float *xs, const int32_t *zero,
                    const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                    float *y, int ldy, int j0, int j1, int kernel);

#endif

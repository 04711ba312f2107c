#ifndef NESTOR_F32GEMM_H
#define NESTOR_F32GEMM_H

#include <stddef.h>

/// Single-precision products for the engine's linear layers, y = x · Wᵀ (+ b), on weights
/// repacked once at load time.
///
/// Why a layout of our own: a short query's forward pass reads every weight once, so it is
/// bound by how fast weights stream in and how many multiply-adds each load feeds. BLAS copies
/// W into its packed panels on every call (reading the weights twice); a row-major dot-product
/// kernel feeds one load into few rows. Here W is stored as panels of 16 output channels with
/// the reduction dimension outermost: float [(panel · k + p) · 16 + j] = W[panel · 16 + j][p],
/// zero beyond n. Per step of p, two 32-byte loads feed 12 fused multiply-adds on AVX2 (6 rows ×
/// 16 channels), two 64-byte loads (two panels) feed 24 on AVX-512 (12 rows × 32 channels), and
/// the panels are read once from memory for all rows of a short batch.

/// Floats of packed weights for n × k (n rounded up to whole panels).
static inline size_t nestor_f32_packed_count(int n, int k) { return (size_t)((n + 15) / 16) * 16 * (size_t)k; }

/// Packs W (n × k floats, row-major: PyTorch `Linear` layout) into panels.
void nestor_f32_pack(const float *w, int n, int k, float *packed);

/// Which kernel runs on this CPU: 2 = AVX-512F, 1 = AVX2 + FMA, 0 = portable C.
int nestor_f32_kernel(void);

/// y[i][j] = Σ_p x[i][p] · W[j][p] (+ bias[j]) for rows 0..<m and columns j0..<j1; j0 must be a
/// multiple of 16 (a panel boundary) and j1 one too, or n. `kernel` caps the kernel used (tests: 0
/// portable, 1 AVX2; 2 or more: the best this CPU has).
void nestor_f32_gemm(int m, int n, int k, const float *x, int ldx, const float *packed, const float *bias,
                     float *y, int ldy, int j0, int j1, int kernel);

/// x = GELU(x) in place for n floats, with the exact error function as PyTorch's default `gelu`
/// (within one float ulp of exact). `kernel` caps the vector width as for nestor_f32_gemm.
void nestor_gelu(float *x, int n, int kernel);

#endif

#include "int8gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

int nestor_q8_kernel(void) {
#if defined(__x86_64__)
    static int cached = -1;  // every thread computes the same value; relaxed atomics keep it race-free
    int kernel = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (kernel >= 0) return kernel;
    kernel = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        kernel = 1;
        unsigned a = 0, b = 0, c = 0, d = 0;
        // AVX-VNNI: CPUID leaf 7, sub-leaf 1, EAX bit 4 (the OS saves ymm state: avx2 said so).
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4))) kernel = 2;
        // AVX-512 VNNI (the runtime's CPU model also checks that the OS saves zmm state).
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) kernel = 3;
    }
    __atomic_store_n(&cached, kernel, __ATOMIC_RELAXED);
    return kernel;
#else
    return 0;
#endif
}

void nestor_q8_quantize_weights(const float *w, int n, int k, int8_t *packed, float *scale, int32_t *sums) {
    const int kp = nestor_q8_kpad(k), kq = kp / 4, blocks = (n + 7) / 8;
    memset(packed, 0, nestor_q8_packed_bytes(n, k));
    for (int j = 0; j < blocks * 8; j++) {
        if (j >= n) continue;
        const float *row = w + (size_t)j * k;
        float m = 0;
        for (int t = 0; t < k; t++) m = fmaxf(m, fabsf(row[t]));
        const float s = m > 0 ? m / 127.0f : 1.0f;
        scale[j] = s;
        int32_t sum = 0;
        const int b = j / 8, jj = j % 8;
        for (int t = 0; t < k; t++) {
            long v = lrintf(row[t] / s);
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            packed[((size_t)b * kq + t / 4) * 32 + jj * 4 + t % 4] = (int8_t)v;
            sum += (int32_t)v;
        }
        sums[j] = sum;
    }
}

/// One row's range (always holding 0, so zero is exact), scale and zero point.
static inline void row_range(float lo, float hi, float *s, int32_t *z) {
    const float sc = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    long zp = lrintf(-lo / sc);
    if (zp < 0) zp = 0;
    if (zp > 255) zp = 255;
    *s = sc;
    *z = (int32_t)zp;
}

/// Values from t on, portable: round to nearest even (lrintf), as cvtps2dq does.
static inline void quantize_tail(const float *row, int t, int k, float inv, int32_t z, uint8_t *out) {
    for (; t < k; t++) {
        long v = lrintf(row[t] * inv) + z;
        if (v < 0) v = 0;
        if (v > 255) v = 255;
        out[t] = (uint8_t)v;
    }
}

static void quantize_rows_portable(const float *x, int m, int k, int ldx, uint8_t *q, float *scale, int32_t *zero) {
    const int kp = nestor_q8_kpad(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        float lo = 0, hi = 0;
        for (int t = 0; t < k; t++) {
            lo = fminf(lo, row[t]);
            hi = fmaxf(hi, row[t]);
        }
        row_range(lo, hi, &scale[i], &zero[i]);
        uint8_t *out = q + (size_t)i * kp;
        quantize_tail(row, 0, k, 1.0f / scale[i], zero[i], out);
        // Padding takes the zero point, so it contributes z · 0 (the padded weights are 0).
        for (int t = k; t < kp; t++) out[t] = (uint8_t)zero[i];
    }
}

#if defined(__x86_64__)
/// The same with 8 floats at a time; identical results (the same products and rounding).
__attribute__((target("avx2,fma"))) static void quantize_rows_avx2(const float *x, int m, int k, int ldx, uint8_t *q, float *scale,
                                                                   int32_t *zero) {
    const int kp = nestor_q8_kpad(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        __m256 vlo = _mm256_setzero_ps(), vhi = vlo;
        int t = 0;
        for (; t + 8 <= k; t += 8) {
            const __m256 v = _mm256_loadu_ps(row + t);
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        float l8[8], h8[8];
        _mm256_storeu_ps(l8, vlo);
        _mm256_storeu_ps(h8, vhi);
        float lo = 0, hi = 0;
        for (int j = 0; j < 8; j++) {
            lo = fminf(lo, l8[j]);
            hi = fmaxf(hi, h8[j]);
        }
        for (int u = t; u < k; u++) {
            lo = fminf(lo, row[u]);
            hi = fmaxf(hi, row[u]);
        }
        row_range(lo, hi, &scale[i], &zero[i]);
        const float inv = 1.0f / scale[i];
        const __m256 vinv = _mm256_set1_ps(inv);
        const __m256i vz = _mm256_set1_epi32(zero[i]);
        uint8_t *out = q + (size_t)i * kp;
        t = 0;
        for (; t + 16 <= k; t += 16) {
            const __m256i a = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + t), vinv)), vz);
            const __m256i b = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + t + 8), vinv)), vz);
            // int32 → int16 (saturating, per 128-bit lane) → uint8 (saturating), then undo the lane interleave.
            const __m256i w = _mm256_packs_epi32(a, b);  // [a0-3 b0-3 | a4-7 b4-7]
            const __m256i u = _mm256_permute4x64_epi64(w, 0xD8);  // [a0-3 a4-7 | b0-3 b4-7]
            const __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
            _mm_storeu_si128((__m128i *)(out + t), bytes);
        }
        quantize_tail(row, t, k, inv, zero[i], out);
        for (int u = k; u < kp; u++) out[u] = (uint8_t)zero[i];
    }
}
#endif

void nestor_q8_quantize_rows(const float *x, int m, int k, int ldx, uint8_t *q, float *scale, int32_t *zero) {
#if defined(__x86_64__)
    if (nestor_q8_kernel() >= 1) return quantize_rows_avx2(x, m, k, ldx, q, scale, zero);
#endif
    quantize_rows_portable(x, m, k, ldx, q, scale, zero);
}

/// Writes one row's 8 outputs of block b from exact int32 sums.
static inline void finish8(const int32_t *acc, int i, int j, int n, const float *xs, const int32_t *zero,
                           const float *ws, const int32_t *sums, const float *bias, float *y, int ldy) {
    for (int t = 0; t < 8 && j + t < n; t++) {
        const int c = j + t;
        const float v = (float)(acc[t] - zero[i] * sums[c]) * (xs[i] * ws[c]);
        y[(size_t)i * ldy + c] = bias ? v + bias[c] : v;
    }
}

static void gemm_portable(int m, int n, int kq, const uint8_t *q, const float *xs, const int32_t *zero,
                          const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                          float *y, int ldy, int b0, int b1) {
    const int kp = kq * 4;
    for (int i = 0; i < m; i++) {
        const uint8_t *a = q + (size_t)i * kp;
        for (int b = b0; b < b1; b++) {
            int32_t acc[8] = {0};
            const int8_t *w = packed + (size_t)b * kq * 32;
            for (int g = 0; g < kq; g++, w += 32)
                for (int jj = 0; jj < 8; jj++)
                    for (int t = 0; t < 4; t++) acc[jj] += (int32_t)a[g * 4 + t] * (int32_t)w[jj * 4 + t];
            finish8(acc, i, b * 8, n, xs, zero, ws, sums, bias, y, ldy);
        }
    }
}

#if defined(__x86_64__)

#define Q8_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define Q8_TARGET_VNNI __attribute__((target("avx2,fma,avxvnni")))

/// The vectorised epilogue for 8 outputs (a whole block inside n).
Q8_TARGET_AVX2 static inline void store8(__m256i acc, int i, int j, int n, const float *xs, const int32_t *zero,
                                          const float *ws, const int32_t *sums, const float *bias, float *y, int ldy) {
    if (j + 8 > n) {
        int32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, acc);
        finish8(tmp, i, j, n, xs, zero, ws, sums, bias, y, ldy);
        return;
    }
    const __m256i corr = _mm256_mullo_epi32(_mm256_set1_epi32(zero[i]), _mm256_loadu_si256((const __m256i *)(sums + j)));
    const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, corr));
    const __m256 s = _mm256_mul_ps(_mm256_set1_ps(xs[i]), _mm256_loadu_ps(ws + j));
    __m256 v = _mm256_mul_ps(f, s);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
    _mm256_storeu_ps(y + (size_t)i * ldy + j, v);
}

/// AVX-VNNI: one vpdpbusd per (row, 8 channels, 4 inputs). Tiles of up to 4 rows × 2 blocks
/// keep 8 accumulators in registers while each weight vector is loaded once per tile.
Q8_TARGET_VNNI static void gemm_vnni(int m, int n, int kq, const uint8_t *q, const float *xs, const int32_t *zero,
                                     const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                                     float *y, int ldy, int b0, int b1) {
    const int kp = kq * 4;
    // Blocks outside, rows inside: a block pair's weights (kq · 64 bytes) are read from memory
    // once and stay in L1 while every group of rows uses them; the activations stay cached too.
    int b = b0;
    for (; b + 2 <= b1; b += 2) {
        for (int i0 = 0; i0 < m; i0 += 4) {
            const int rows = m - i0 < 4 ? m - i0 : 4;
            const uint8_t *a0 = q + (size_t)i0 * kp;
            const uint8_t *a1 = rows > 1 ? a0 + kp : a0, *a2 = rows > 2 ? a0 + 2 * kp : a0, *a3 = rows > 3 ? a0 + 3 * kp : a0;
            const int8_t *w0 = packed + (size_t)b * kq * 32, *w1 = w0 + (size_t)kq * 32;
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int g = 0; g < kq; g++) {
                const __m256i v0 = _mm256_loadu_si256((const __m256i *)(w0 + g * 32));
                const __m256i v1 = _mm256_loadu_si256((const __m256i *)(w1 + g * 32));
                __m256i x;
                int32_t s;
                memcpy(&s, a0 + g * 4, 4); x = _mm256_set1_epi32(s);
                c00 = _mm256_dpbusd_avx_epi32(c00, x, v0); c01 = _mm256_dpbusd_avx_epi32(c01, x, v1);
                memcpy(&s, a1 + g * 4, 4); x = _mm256_set1_epi32(s);
                c10 = _mm256_dpbusd_avx_epi32(c10, x, v0); c11 = _mm256_dpbusd_avx_epi32(c11, x, v1);
                memcpy(&s, a2 + g * 4, 4); x = _mm256_set1_epi32(s);
                c20 = _mm256_dpbusd_avx_epi32(c20, x, v0); c21 = _mm256_dpbusd_avx_epi32(c21, x, v1);
                memcpy(&s, a3 + g * 4, 4); x = _mm256_set1_epi32(s);
                c30 = _mm256_dpbusd_avx_epi32(c30, x, v0); c31 = _mm256_dpbusd_avx_epi32(c31, x, v1);
            }
            const __m256i cs[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
            for (int r = 0; r < rows; r++)
                for (int h = 0; h < 2; h++) store8(cs[r][h], i0 + r, (b + h) * 8, n, xs, zero, ws, sums, bias, y, ldy);
        }
    }
    for (; b < b1; b++) {
        for (int i0 = 0; i0 < m; i0 += 4) {
            const int rows = m - i0 < 4 ? m - i0 : 4;
            const uint8_t *a0 = q + (size_t)i0 * kp;
            const uint8_t *a1 = rows > 1 ? a0 + kp : a0, *a2 = rows > 2 ? a0 + 2 * kp : a0, *a3 = rows > 3 ? a0 + 3 * kp : a0;
            const int8_t *w0 = packed + (size_t)b * kq * 32;
            __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
            for (int g = 0; g < kq; g++) {
                const __m256i v0 = _mm256_loadu_si256((const __m256i *)(w0 + g * 32));
                int32_t s;
                memcpy(&s, a0 + g * 4, 4); c0 = _mm256_dpbusd_avx_epi32(c0, _mm256_set1_epi32(s), v0);
                memcpy(&s, a1 + g * 4, 4); c1 = _mm256_dpbusd_avx_epi32(c1, _mm256_set1_epi32(s), v0);
                memcpy(&s, a2 + g * 4, 4); c2 = _mm256_dpbusd_avx_epi32(c2, _mm256_set1_epi32(s), v0);
                memcpy(&s, a3 + g * 4, 4); c3 = _mm256_dpbusd_avx_epi32(c3, _mm256_set1_epi32(s), v0);
            }
            const __m256i cs[4] = {c0, c1, c2, c3};
            for (int r = 0; r < rows; r++) store8(cs[r], i0 + r, b * 8, n, xs, zero, ws, sums, bias, y, ldy);
        }
    }
}

/// AVX2 without VNNI: vpmaddubsw would saturate its 16-bit pair sums for full-range uint8 ×
/// int8, so both operands are widened to 16 bits and multiplied with vpmaddwd (exact). The
/// pair sums of each channel are folded together once at the end of the row.
Q8_TARGET_AVX2 static inline __m256i fold(__m256i lo, __m256i hi) {
    const __m256i h = _mm256_hadd_epi32(lo, hi);  // [c0 c1 c4 c5 | c2 c3 c6 c7]
    return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
}

Q8_TARGET_AVX2 static void gemm_avx2(int m, int n, int kq, const uint8_t *q, const float *xs, const int32_t *zero,
                                     const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                                     float *y, int ldy, int b0, int b1) {
    const int kp = kq * 4;
    for (int b = b0; b < b1; b++) {
        for (int i0 = 0; i0 < m; i0 += 4) {
            const int rows = m - i0 < 4 ? m - i0 : 4;
            const int8_t *w0 = packed + (size_t)b * kq * 32;
            __m256i lo[4], hi[4];
            for (int r = 0; r < 4; r++) lo[r] = hi[r] = _mm256_setzero_si256();
            for (int g = 0; g < kq; g++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(w0 + g * 32));
                const __m256i wl = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(v));       // channels 0-3
                const __m256i wh = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(v, 1));  // channels 4-7
                for (int r = 0; r < rows; r++) {
                    int32_t s;
                    memcpy(&s, q + (size_t)(i0 + r) * kp + g * 4, 4);
                    const __m256i x = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(s)));
                    lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(wl, x));
                    hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(wh, x));
                }
            }
            for (int r = 0; r < rows; r++) store8(fold(lo[r], hi[r]), i0 + r, b * 8, n, xs, zero, ws, sums, bias, y, ldy);
        }
    }
}

#define Q8_TARGET_512 __attribute__((target("avx512f,avx512vnni,avx2,fma")))

/// Rows of one AVX-512 tile at most: 2 · 8 accumulators, 2 weight vectors and 8 broadcasts
/// fit the 32 zmm registers without spilling.
enum { Q8_ROWS_512 = 8 };

/// The epilogue for 16 outputs (blocks b and b + 1) of one row, the same operations in the
/// same order as store8, so the bits equal the other kernels'.
Q8_TARGET_512 static inline void store16(__m512i acc, int i, int j, int n, const float *xs, const int32_t *zero,
                                          const float *ws, const int32_t *sums, const float *bias, float *y, int ldy) {
    const int cols = n - j < 16 ? n - j : 16;
    if (cols <= 0) return;
    const __mmask16 mask = cols == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(zero[i]), _mm512_maskz_loadu_epi32(mask, sums + j));
    const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, corr));
    const __m512 sc = _mm512_mul_ps(_mm512_set1_ps(xs[i]), _mm512_maskz_loadu_ps(mask, ws + j));
    __m512 v = _mm512_mul_ps(f, sc);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + j));
    _mm512_mask_storeu_ps(y + (size_t)i * ldy + j, mask, v);
}

/// Two 8-channel blocks' group g as one zmm: channels 0-7 from block w, 8-15 from the next.
Q8_TARGET_512 static inline __m512i pair(const int8_t *w, size_t block_bytes, int g) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)(w + (size_t)g * 32));
    const __m256i hi = _mm256_loadu_si256((const __m256i *)(w + block_bytes + (size_t)g * 32));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/// One block's group g in the low half, zeros above.
Q8_TARGET_512 static inline __m512i single(const int8_t *w, int g) {
    return _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(w + (size_t)g * 32)));
}

/// One tile: ROWS (1-8) rows × BLOCKS (1-4) blocks (up to 32 channels), one vpdpbusd per
/// (row, 16 channels, 4 inputs); missing blocks are zeros (`n` bounds the stores). `a` holds the tile's quantised rows interleaved by group of 4 inputs,
/// a[g · ROWS + r], so the broadcasts are constant offsets from one pointer. `pf`: the next
/// group of blocks, walked two 64-byte lines per step while this one computes.
Q8_TARGET_512 static inline __attribute__((always_inline)) void tile512(
    const int ROWS, const int BLOCKS, int kq, const int32_t *a, const int8_t *w, const int8_t *pf, int i, int j, int n,
    const float *xs, const int32_t *zero, const float *ws, const int32_t *sums, const float *bias, float *y, int ldy) {
    const size_t bb = (size_t)kq * 32;  // bytes per block
    __m512i acc[Q8_ROWS_512][2];
    for (int r = 0; r < ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (int g = 0; g < kq; g++) {
        if (pf) {
            _mm_prefetch((const char *)(pf + (size_t)g * 128), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + (size_t)g * 128 + 64), _MM_HINT_T0);
        }
        const __m512i v0 = BLOCKS >= 2 ? pair(w, bb, g) : single(w, g);
        const __m512i v1 = BLOCKS == 4 ? pair(w + 2 * bb, bb, g) : BLOCKS == 3 ? single(w + 2 * bb, g) : _mm512_setzero_si512();
        for (int r = 0; r < ROWS; r++) {
            const __m512i x = _mm512_set1_epi32(a[(size_t)g * ROWS + r]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, v0);
            if (BLOCKS > 2) acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, v1);
        }
    }
    for (int r = 0; r < ROWS; r++) {
        store16(acc[r][0], i + r, j, n, xs, zero, ws, sums, bias, y, ldy);
        if (BLOCKS > 2) store16(acc[r][1], i + r, j + 16, n, xs, zero, ws, sums, bias, y, ldy);
    }
}

typedef void (*q8_tile_fn)(int, const int32_t *, const int8_t *, const int8_t *, int, int, int, const float *,
                           const int32_t *, const float *, const int32_t *, const float *, float *, int);
typedef void (*q8_tail_fn)(int, int, const int32_t *, const int8_t *, int, int, int, const float *, const int32_t *,
                           const float *, const int32_t *, const float *, float *, int);
#define Q8_TILE512(R)                                                                                             \
    Q8_TARGET_512 static void tile512_##R(int kq, const int32_t *a, const int8_t *w, const int8_t *pf, int i, int j, \
                                          int n, const float *xs, const int32_t *zero, const float *ws,           \
                                          const int32_t *sums, const float *bias, float *y, int ldy) {            \
        tile512(R, 4, kq, a, w, pf, i, j, n, xs, zero, ws, sums, bias, y, ldy);                                   \
    }                                                                                                             \
    Q8_TARGET_512 static void tail512_##R(int blocks, int kq, const int32_t *a, const int8_t *w, int i, int j, int n, \
                                          const float *xs, const int32_t *zero, const float *ws,                  \
                                          const int32_t *sums, const float *bias, float *y, int ldy) {            \
        tile512(R, blocks, kq, a, w, NULL, i, j, n, xs, zero, ws, sums, bias, y, ldy);                            \
    }
Q8_TILE512(1) Q8_TILE512(2) Q8_TILE512(3) Q8_TILE512(4) Q8_TILE512(5) Q8_TILE512(6) Q8_TILE512(7) Q8_TILE512(8)

/// AVX-512 VNNI: blocks in groups of 4 (32 channels), rows in chunks that stay in L2, tiles
/// of rows split evenly; the last tile over a group prefetches the next group, and the 1-3
/// blocks left over at the end run as a narrower tile. (Not the 256-bit VNNI kernel: CPUs with
/// AVX-512 VNNI but no AVX-VNNI, such as Cascade Lake and Ice Lake, cannot run it.)
Q8_TARGET_512 static void gemm_avx512(int m, int n, int kq, const uint8_t *q, const float *xs, const int32_t *zero,
                                      const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                                      float *y, int ldy, int b0, int b1) {
    static const q8_tile_fn tiles[Q8_ROWS_512 + 1] = {0, tile512_1, tile512_2, tile512_3, tile512_4,
                                                       tile512_5, tile512_6, tile512_7, tile512_8};
    static const q8_tail_fn tails[Q8_ROWS_512 + 1] = {0, tail512_1, tail512_2, tail512_3, tail512_4,
                                                       tail512_5, tail512_6, tail512_7, tail512_8};
    const int kp = kq * 4, full = b0 + (b1 - b0) / 4 * 4;
    const size_t bb = (size_t)kq * 32;
    int chunk = (256 * 1024) / (kp > 0 ? kp : 1) / Q8_ROWS_512 * Q8_ROWS_512;
    if (chunk < Q8_ROWS_512) chunk = Q8_ROWS_512;
    if (chunk > 64 * Q8_ROWS_512) chunk = 64 * Q8_ROWS_512;
    int32_t stack[8 * 1024];
    const size_t need = (size_t)(m < chunk ? m : chunk) * kq;
    int32_t *buf = need <= sizeof stack / sizeof *stack ? stack : malloc(need * sizeof(int32_t));
    if (!buf) return gemm_avx2(m, n, kq, q, xs, zero, packed, ws, sums, bias, y, ldy, b0, b1);
    const int jend = n < b1 * 8 ? n : b1 * 8;  // the stores' bound: this call's last block
    for (int i0 = 0; i0 < m; i0 += chunk) {
        const int rows = m - i0 < chunk ? m - i0 : chunk;
        const int ntiles = (rows + Q8_ROWS_512 - 1) / Q8_ROWS_512;
        int tile_rows[64], i = 0;
        for (int t = 0; t < ntiles; t++) {
            const int r = (rows - i + (ntiles - t) - 1) / (ntiles - t);
            tile_rows[t] = r;
            int32_t *dst = buf + (size_t)i * kq;
            const uint8_t *src[Q8_ROWS_512];
            for (int rr = 0; rr < r; rr++) src[rr] = q + (size_t)(i0 + i + rr) * kp;
            for (int g = 0; g < kq; g++, dst += r)  // sequential writes; the r rows are r read streams
                for (int rr = 0; rr < r; rr++) memcpy(dst + rr, src[rr] + (size_t)g * 4, 4);
            i += r;
        }
        for (int b = b0; b < full; b += 4) {
            const int8_t *w = packed + (size_t)b * bb;
            const int8_t *next = b + 4 < full ? w + 4 * bb : NULL;
            i = 0;
            for (int t = 0; t < ntiles; t++) {
                const int r = tile_rows[t];
                tiles[r](kq, buf + (size_t)i * kq, w, t == ntiles - 1 ? next : NULL, i0 + i, b * 8, jend, xs, zero, ws,
                         sums, bias, y, ldy);
                i += r;
            }
        }
        if (full < b1) {
            i = 0;
            for (int t = 0; t < ntiles; t++) {
                const int r = tile_rows[t];
                tails[r](b1 - full, kq, buf + (size_t)i * kq, packed + (size_t)full * bb, i0 + i, full * 8, jend, xs, zero,
                         ws, sums, bias, y, ldy);
                i += r;
            }
        }
    }
    if (buf != stack) free(buf);
}
#endif

void nestor_q8_gemm(int m, int n, int k, const uint8_t *q, const float *xs, const int32_t *zero,
                    const int8_t *packed, const float *ws, const int32_t *sums, const float *bias,
                    float *y, int ldy, int j0, int j1, int kernel) {
    const int kq = nestor_q8_kpad(k) / 4;
    const int b0 = j0 / 8, b1 = (j1 + 7) / 8;
    if (m <= 0 || b0 >= b1) return;
#if defined(__x86_64__)
    if (kernel >= 3 && nestor_q8_kernel() >= 3) return gemm_avx512(m, n, kq, q, xs, zero, packed, ws, sums, bias, y, ldy, b0, b1);
    if (kernel >= 2 && nestor_q8_kernel() >= 2) return gemm_vnni(m, n, kq, q, xs, zero, packed, ws, sums, bias, y, ldy, b0, b1);
    if (kernel >= 1 && nestor_q8_kernel() >= 1) return gemm_avx2(m, n, kq, q, xs, zero, packed, ws, sums, bias, y, ldy, b0, b1);
#endif
    (void)kernel;
    gemm_portable(m, n, kq, q, xs, zero, packed, ws, sums, bias, y, ldy, b0, b1);
}

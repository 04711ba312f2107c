#include "f32gemm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

void nestor_f32_pack(const float *w, int n, int k, float *packed) {
    const int panels = (n + 15) / 16;
    memset(packed, 0, nestor_f32_packed_count(n, k) * sizeof(float));
    for (int b = 0; b < panels; b++)
        for (int jj = 0; jj < 16 && b * 16 + jj < n; jj++) {
            const float *row = w + (size_t)(b * 16 + jj) * k;
            float *out = packed + (size_t)b * k * 16 + jj;
            for (int p = 0; p < k; p++) out[(size_t)p * 16] = row[p];
        }
}

int nestor_f32_kernel(void) {
#if defined(__x86_64__)
    static int cached = -1;  // as in rows_per_chunk: same value from every thread
    int kernel = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (kernel < 0) {
        __builtin_cpu_init();
        kernel = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
        // AVX-512 Foundation; the runtime's CPU model also checks that the OS saves zmm state.
        if (kernel && __builtin_cpu_supports("avx512f")) kernel = 2;
        __atomic_store_n(&cached, kernel, __ATOMIC_RELAXED);
    }
    return kernel;
#else
    return 0;
#endif
}

/// Rows per tile of the portable loops.
enum { TILE_ROWS = 6 };

/// How many rows of x stay cached while a range of panels is swept over them: a quarter of this
/// core's L2 (2 MiB on current Xeons, 0.5-1 MiB on EPYCs), at least 128 KiB. Too few rows and
/// every chunk re-reads all of W from L3.
static int rows_per_chunk(int k) {
    static long cached = 0;  // every thread computes the same value; relaxed atomics keep it race-free
    long budget = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (budget == 0) {
        long l2 = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
        l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        budget = l2 / 4 > 128 * 1024 ? l2 / 4 : 128 * 1024;
        __atomic_store_n(&cached, budget, __ATOMIC_RELAXED);
    }
    const long rows = budget / (4L * (k > 0 ? k : 1));
    return rows > 1 << 20 ? 1 << 20 : (int)rows;
}

static void store_tile(const float *acc, int rows, int j, int n, const float *bias, float *y, int ldy) {
    const int cols = n - j < 16 ? n - j : 16;
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < cols; t++) y[(size_t)r * ldy + j + t] = acc[r * 16 + t] + (bias ? bias[j + t] : 0.0f);
}

static void gemm_portable(int m, int n, int k, const float *x, int ldx, const float *packed, const float *bias,
                          float *y, int ldy, int b0, int b1) {
    for (int i = 0; i < m; i += TILE_ROWS) {
        const int rows = m - i < TILE_ROWS ? m - i : TILE_ROWS;
        for (int b = b0; b < b1; b++) {
            float acc[TILE_ROWS * 16] = {0};
            const float *w = packed + (size_t)b * k * 16;
            for (int p = 0; p < k; p++)
                for (int r = 0; r < rows; r++) {
                    const float v = x[(size_t)(i + r) * ldx + p];
                    for (int t = 0; t < 16; t++) acc[r * 16 + t] += v * w[(size_t)p * 16 + t];
                }
            store_tile(acc, rows, b * 16, n, bias, y + (size_t)i * ldy, ldy);
        }
    }
}

#if defined(__x86_64__)
#define F32_AVX2 __attribute__((target("avx2,fma")))
#define F32_AVX512 __attribute__((target("avx512f,avx2,fma")))

/// A tile's function: rows × (16 · panels) outputs at column j, over all of k. `x` holds the
/// tile's rows interleaved, x[p · rows + r] (see `sweep`), so every broadcast is a constant
/// offset from one pointer and the row addresses take no registers. `w` is the first
/// panel (the second, when there is one, follows at w + 16 k); `pf` is what to prefetch while
/// computing, one 64-byte line per step p (null: nothing).
typedef void (*tile_fn)(int k, const float *x, const float *w, const float *pf, int pf_lines,
                        const float *bias, float *y, int ldy, int j, int n);

/// Prefetch for step p: lines of the next panels (pf_lines of them per step).
#define F32_PREFETCH(pf, pf_lines, p)                                                         \
    if (pf) {                                                                                 \
        for (int l = 0; l < pf_lines; l++) _mm_prefetch((const char *)((pf) + ((size_t)(p) * (pf_lines) + l) * 16), _MM_HINT_T0); \
    }

/// AVX2 tile: ROWS (1-6) rows × 16 channels, 2·ROWS ymm accumulators. ROWS is a constant at
/// every call, so the loops over rows unroll and the accumulators stay in registers.
F32_AVX2 static inline __attribute__((always_inline)) void tile_avx2(
    const int ROWS, int k, const float *x, const float *w, const float *pf, int pf_lines,
    const float *bias, float *y, int ldy, int j, int n) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < ROWS; r++) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        F32_PREFETCH(pf, pf_lines, p)
        const __m256 w0 = _mm256_loadu_ps(w + (size_t)p * 16), w1 = _mm256_loadu_ps(w + (size_t)p * 16 + 8);
        for (int r = 0; r < ROWS; r++) {
            const __m256 v = _mm256_broadcast_ss(x + (size_t)p * ROWS + r);
            lo[r] = _mm256_fmadd_ps(v, w0, lo[r]);
            hi[r] = _mm256_fmadd_ps(v, w1, hi[r]);
        }
    }
    if (j + 16 <= n) {
        const __m256 b0 = bias ? _mm256_loadu_ps(bias + j) : _mm256_setzero_ps();
        const __m256 b1 = bias ? _mm256_loadu_ps(bias + j + 8) : _mm256_setzero_ps();
        for (int r = 0; r < ROWS; r++) {
            _mm256_storeu_ps(y + (size_t)r * ldy + j, _mm256_add_ps(lo[r], b0));
            _mm256_storeu_ps(y + (size_t)r * ldy + j + 8, _mm256_add_ps(hi[r], b1));
        }
        return;
    }
    float acc[6 * 16];
    for (int r = 0; r < ROWS; r++) {
        _mm256_storeu_ps(acc + r * 16, lo[r]);
        _mm256_storeu_ps(acc + r * 16 + 8, hi[r]);
    }
    store_tile(acc, ROWS, j, n, bias, y, ldy);
}

/// AVX-512 tile: ROWS (1-12) rows × PANELS (1 or 2) panels of 16 channels, up to 24 zmm
/// accumulators; two weight loads feed 2·ROWS fused multiply-adds per step.
F32_AVX512 static inline __attribute__((always_inline)) void tile_avx512(
    const int ROWS, const int PANELS, int k, const float *x, const float *w, const float *pf, int pf_lines,
    const float *bias, float *y, int ldy, int j, int n) {
    __m512 acc[12][2];
    const float *w2 = w + (size_t)k * 16;
    for (int r = 0; r < ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        F32_PREFETCH(pf, pf_lines, p)
        const __m512 w0 = _mm512_loadu_ps(w + (size_t)p * 16);
        const __m512 w1 = PANELS == 2 ? _mm512_loadu_ps(w2 + (size_t)p * 16) : w0;
        for (int r = 0; r < ROWS; r++) {
            const __m512 v = _mm512_set1_ps(x[(size_t)p * ROWS + r]);
            acc[r][0] = _mm512_fmadd_ps(v, w0, acc[r][0]);
            if (PANELS == 2) acc[r][1] = _mm512_fmadd_ps(v, w1, acc[r][1]);
        }
    }
    for (int h = 0; h < PANELS; h++) {
        const int c = j + 16 * h, cols = n - c < 16 ? n - c : 16;
        if (cols <= 0) break;
        const __mmask16 mask = cols == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
        const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + c) : _mm512_setzero_ps();
        for (int r = 0; r < ROWS; r++) _mm512_mask_storeu_ps(y + (size_t)r * ldy + c, mask, _mm512_add_ps(acc[r][h], b));
    }
}

#define F32_TILE2(R) \
    F32_AVX2 static void avx2_##R(int k, const float *x, const float *w, const float *pf, int pl, const float *bias, float *y, int ldy, int j, int n) { \
        tile_avx2(R, k, x, w, pf, pl, bias, y, ldy, j, n); \
    }
F32_TILE2(1) F32_TILE2(2) F32_TILE2(3) F32_TILE2(4) F32_TILE2(5) F32_TILE2(6)

#define F32_TILE512(R) \
    F32_AVX512 static void avx512_##R##x1(int k, const float *x, const float *w, const float *pf, int pl, const float *bias, float *y, int ldy, int j, int n) { \
        tile_avx512(R, 1, k, x, w, pf, pl, bias, y, ldy, j, n); \
    } \
    F32_AVX512 static void avx512_##R##x2(int k, const float *x, const float *w, const float *pf, int pl, const float *bias, float *y, int ldy, int j, int n) { \
        tile_avx512(R, 2, k, x, w, pf, pl, bias, y, ldy, j, n); \
    }
F32_TILE512(1) F32_TILE512(2) F32_TILE512(3) F32_TILE512(4) F32_TILE512(5) F32_TILE512(6)
F32_TILE512(7) F32_TILE512(8) F32_TILE512(9) F32_TILE512(10) F32_TILE512(11) F32_TILE512(12)

/// The loops around the tiles, for any tile family: rows in chunks that stay in L2; within a
/// chunk each group of panels (k · 64 bytes per panel) is loaded once and used by every tile
/// of rows while it sits in L1/L2. Tiles split the rows evenly (14 rows are 7 + 7 or
/// 5 + 5 + 4, not 12 + 2), so no tile runs with mostly empty registers.
///
/// Prefetch: the last tile over a group of panels also walks the next group's panels (one
/// 64-byte line of them per step), so they arrive in cache while this group computes, and a
/// short query, bound by streaming weights, overlaps loading with arithmetic.
static void sweep(int m, int n, int k, const float *x, int ldx, const float *packed, const float *bias,
                  float *y, int ldy, int b0, int b1, int max_rows, const tile_fn *wide, const tile_fn *narrow, int group) {
    int chunk = rows_per_chunk(k) / max_rows * max_rows;
    if (chunk < max_rows) chunk = max_rows;
    if (chunk > 64 * max_rows) chunk = 64 * max_rows;  // tile_rows below
    float stack[16 * 1024];
    const size_t need = (size_t)(m < chunk ? m : chunk) * k;
    float *xp = need <= sizeof stack / sizeof *stack ? stack : malloc(need * sizeof(float));
    if (!xp) return gemm_portable(m, n, k, x, ldx, packed, bias, y, ldy, b0, b1);
    for (int i0 = 0; i0 < m; i0 += chunk) {
        const int rows = m - i0 < chunk ? m - i0 : chunk;
        const int ntiles = (rows + max_rows - 1) / max_rows;
        // Interleave each tile's rows once per chunk; every group of panels reuses them.
        int tile_rows[64], i = 0;
        for (int t = 0; t < ntiles; t++) {
            const int r = (rows - i + (ntiles - t) - 1) / (ntiles - t);
            tile_rows[t] = r;
            float *dst = xp + (size_t)i * k;
            const float *src[12];
            for (int rr = 0; rr < r; rr++) src[rr] = x + (size_t)(i0 + i + rr) * ldx;
            for (int p = 0; p < k; p++, dst += r)  // sequential writes; the r rows are r read streams
                for (int rr = 0; rr < r; rr++) dst[rr] = src[rr][p];
            i += r;
        }
        for (int b = b0; b < b1; b += group) {
            const int panels = b1 - b < group ? b1 - b : group;
            const tile_fn *tiles = panels == group ? wide : narrow;
            const float *w = packed + (size_t)b * k * 16;
            const int next = b + group < b1 ? (b1 - b - group < group ? b1 - b - group : group) : 0;
            i = 0;
            for (int t = 0; t < ntiles; t++) {
                const int r = tile_rows[t];
                const int last = t == ntiles - 1 && next > 0;
                const float *pf = last ? w + (size_t)panels * k * 16 : NULL;
                tiles[r](k, xp + (size_t)i * k, w, pf, last ? next : 0, bias, y + (size_t)(i0 + i) * ldy, ldy, b * 16, n);
                i += r;
            }
        }
    }
    if (xp != stack) free(xp);
}
#endif

void nestor_f32_gemm(int m, int n, int k, const float *x, int ldx, const float *packed, const float *bias,
                     float *y, int ldy, int j0, int j1, int kernel) {
    const int b0 = j0 / 16, b1 = (j1 + 15) / 16;
    if (m <= 0 || b0 >= b1) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = j0; j < j1 && j < n; j++) y[(size_t)i * ldy + j] = bias ? bias[j] : 0.0f;
        return;
    }
#if defined(__x86_64__)
    static const tile_fn avx2[7] = {0, avx2_1, avx2_2, avx2_3, avx2_4, avx2_5, avx2_6};
    static const tile_fn wide512[13] = {0, avx512_1x2, avx512_2x2, avx512_3x2, avx512_4x2, avx512_5x2, avx512_6x2,
                                        avx512_7x2, avx512_8x2, avx512_9x2, avx512_10x2, avx512_11x2, avx512_12x2};
    static const tile_fn narrow512[13] = {0, avx512_1x1, avx512_2x1, avx512_3x1, avx512_4x1, avx512_5x1, avx512_6x1,
                                          avx512_7x1, avx512_8x1, avx512_9x1, avx512_10x1, avx512_11x1, avx512_12x1};
    const int best = nestor_f32_kernel() < kernel ? nestor_f32_kernel() : kernel;
    if (best >= 2) return sweep(m, n, k, x, ldx, packed, bias, y, ldy, b0, b1, 12, wide512, narrow512, 2);
    if (best >= 1) return sweep(m, n, k, x, ldx, packed, bias, y, ldy, b0, b1, 6, avx2, avx2, 1);
#endif
    (void)kernel;
    gemm_portable(m, n, k, x, ldx, packed, bias, y, ldy, b0, b1);
}

#include "f32gemm.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// GELU with the exact error function (PyTorch's default `gelu`): 0.5 · x · (1 + erf(x / √2)),
// evaluated in double and rounded once to float.
//
// glibc's scalar erff cost ~20 ns a call, and GELU runs on every intermediate activation. Here
// erf(z) = z · P(z²) / Q(z²) on |z| ≤ 3.925 (beyond which erf is ±1 in float32), a degree-6/5
// rational fitted for relative error 1.8e-9 (`scripts/kernels/fit_erf.py`). A float32 Horner
// chain lost up to 6 ulp; double gives results closer to the exact value than erff does. The
// vector paths take 8 (AVX-512) or 4 (AVX2) doubles per step; in C because Swift can emit
// neither AVX-512 nor a kernel chosen at run time.

static const double BOUND = 3.925, INV_SQRT2 = 0.70710678118654752440;
static const double P0 = 1.1283791693218896, P1 = 0.185135316952551, P2 = 0.054249955325568096,
                    P3 = 0.0038393830894458076, P4 = 0.0003770192278222868, P5 = 4.616313982023362e-06,
                    P6 = -1.2837161778023187e-08;
static const double Q0 = 0.4974053112490643, Q1 = 0.11387905253609343, Q2 = 0.015432500396667045,
                    Q3 = 0.0013020260722548553, Q4 = 6.24656911925774e-05;

static inline float gelu1(float v) {
    const double d = v, z0 = d * INV_SQRT2;
    const double z = z0 < -BOUND ? -BOUND : z0 > BOUND ? BOUND : z0, t = z * z;
    const double num = fma(fma(fma(fma(fma(fma(P6, t, P5), t, P4), t, P3), t, P2), t, P1), t, P0);
    const double den = fma(fma(fma(fma(fma(Q4, t, Q3), t, Q2), t, Q1), t, Q0), t, 1.0);
    return (float)(0.5 * d * (1.0 + z * num / den));
}

#if defined(__x86_64__)
/// The same steps as gelu1 on a vector T of doubles d (pd: the intrinsics' prefix); leaves r.
#define GELU_VECTOR(T, pd)                                                                         \
    const T b = pd##set1_pd(BOUND);                                                                \
    const T z = pd##max_pd(pd##min_pd(pd##mul_pd(d, pd##set1_pd(INV_SQRT2)), b), pd##set1_pd(-BOUND)); \
    const T t = pd##mul_pd(z, z);                                                                  \
    T num = pd##set1_pd(P6);                                                                       \
    num = pd##fmadd_pd(num, t, pd##set1_pd(P5)); num = pd##fmadd_pd(num, t, pd##set1_pd(P4));     \
    num = pd##fmadd_pd(num, t, pd##set1_pd(P3)); num = pd##fmadd_pd(num, t, pd##set1_pd(P2));     \
    num = pd##fmadd_pd(num, t, pd##set1_pd(P1)); num = pd##fmadd_pd(num, t, pd##set1_pd(P0));     \
    T den = pd##set1_pd(Q4);                                                                       \
    den = pd##fmadd_pd(den, t, pd##set1_pd(Q3)); den = pd##fmadd_pd(den, t, pd##set1_pd(Q2));     \
    den = pd##fmadd_pd(den, t, pd##set1_pd(Q1)); den = pd##fmadd_pd(den, t, pd##set1_pd(Q0));     \
    den = pd##fmadd_pd(den, t, pd##set1_pd(1.0));                                                  \
    const T e = pd##div_pd(pd##mul_pd(z, num), den);                                               \
    const T r = pd##mul_pd(pd##mul_pd(pd##set1_pd(0.5), d), pd##add_pd(pd##set1_pd(1.0), e));

__attribute__((target("avx512f,avx2,fma"))) static int gelu_avx512(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m512d d = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        GELU_VECTOR(__m512d, _mm512_)
        _mm256_storeu_ps(x + i, _mm512_cvtpd_ps(r));
    }
    return i;
}

__attribute__((target("avx2,fma"))) static int gelu_avx2(float *x, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d d = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
        GELU_VECTOR(__m256d, _mm256_)
        _mm_storeu_ps(x + i, _mm256_cvtpd_ps(r));
    }
    return i;
}
#endif

void nestor_gelu(float *x, int n, int kernel) {
    int i = 0;
#if defined(__x86_64__)
    const int best = nestor_f32_kernel() < kernel ? nestor_f32_kernel() : kernel;
    if (best >= 2) i = gelu_avx512(x, n);
    else if (best >= 1) i = gelu_avx2(x, n);
#endif
    (void)kernel;
    for (; i < n; i++) x[i] = gelu1(x[i]);
}

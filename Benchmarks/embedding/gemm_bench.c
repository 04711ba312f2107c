// The linear-layer kernels alone, on all-MiniLM-L6-v2's shapes (6 layers of QKV 1152×384,
// output 384×384, FFN 1536×384 and 384×1536; random weights, distinct per layer so they come
// from memory as in a forward pass), one thread, for m rows: OpenBLAS sgemm on row-major
// weights, the packed fp32 kernel, and the int8 kernel (AVX-VNNI or below vs the best).
//
//   cc -O2 -I Sources/CFloatGemm/include -I Sources/CInt8/include Benchmarks/embedding/gemm_bench.c
//      Sources/CFloatGemm/f32gemm.c Sources/CInt8/int8gemm.c -lopenblas -lm -o /tmp/gemm_bench   (one line)
//   /tmp/gemm_bench 1; /tmp/gemm_bench 14; /tmp/gemm_bench 800
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "f32gemm.h"
#include "int8gemm.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float rnd(void) { return rand() / (float)RAND_MAX - 0.5f; }

int main(int argc, char **argv) {
    const int m = argc > 1 ? atoi(argv[1]) : 14, layers = 6;
    const int shapes[4][2] = {{1152, 384}, {384, 384}, {1536, 384}, {384, 1536}};
    float *w[24], *packed[24], *scale[24];
    int8_t *q8[24];
    int32_t *sums[24];
    long flops = 0;
    openblas_set_num_threads(1);
    for (int l = 0; l < layers * 4; l++) {
        const int n = shapes[l % 4][0], k = shapes[l % 4][1];
        w[l] = malloc(sizeof(float) * n * k);
        for (long i = 0; i < (long)n * k; i++) w[l][i] = rnd();
        packed[l] = malloc(sizeof(float) * nestor_f32_packed_count(n, k));
        nestor_f32_pack(w[l], n, k, packed[l]);
        q8[l] = malloc(nestor_q8_packed_bytes(n, k));
        scale[l] = malloc(sizeof(float) * (n + 8));
        sums[l] = malloc(sizeof(int32_t) * (n + 8));
        nestor_q8_quantize_weights(w[l], n, k, q8[l], scale[l], sums[l]);
        flops += 2L * m * n * k;
    }
    float *x = malloc(sizeof(float) * m * 1536), *y = malloc(sizeof(float) * m * 1536);
    uint8_t *qx = malloc((size_t)m * 1536);
    float *xs = malloc(sizeof(float) * m);
    int32_t *zero = malloc(sizeof(int32_t) * m);
    for (long i = 0; i < (long)m * 1536; i++) x[i] = rnd();
    const int reps = m < 64 ? 50 : 5;
    for (int round = 0; round < 3; round++) {
        double t[4] = {0};
        for (int r = 0; r < reps; r++) {
            for (int arm = 0; arm < 4; arm++) {  // alternated, so drift hits every arm
                const double t0 = now();
                for (int l = 0; l < layers * 4; l++) {
                    const int n = shapes[l % 4][0], k = shapes[l % 4][1];
                    if (arm == 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w[l], k, 0, y, n);
                    if (arm == 1) nestor_f32_gemm(m, n, k, x, k, packed[l], NULL, y, n, 0, n, 2);
                    if (arm >= 2) {
                        nestor_q8_quantize_rows(x, m, k, k, qx, xs, zero);
                        nestor_q8_gemm(m, n, k, qx, xs, zero, q8[l], scale[l], sums[l], NULL, y, n, 0, n, arm == 2 ? 2 : 3);
                    }
                }
                t[arm] += now() - t0;
            }
        }
        printf("m=%d  ms per forward's linears: blas %.3f  packed fp32 %.3f (%.0f GFLOPS)  int8 vnni256 %.3f  int8 best %.3f (%.0f GOPS)\n",
               m, t[0] / reps * 1e3, t[1] / reps * 1e3, flops / (t[1] / reps) / 1e9, t[2] / reps * 1e3, t[3] / reps * 1e3,
               flops / (t[3] / reps) / 1e9);
    }
    return 0;
}

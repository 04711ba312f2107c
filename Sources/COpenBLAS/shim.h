// Debian's libopenblas-dev puts cblas.h under the OpenBLAS include directory registered with
// update-alternatives; /usr/include/x86_64-linux-gnu/cblas.h (or /usr/include/cblas.h) is the
// usual entry point.
#include <cblas.h>

// LAPACK's symmetric eigensolver (divide and conquer), bundled in OpenBLAS; Fortran calling
// convention: every argument by pointer, column-major matrix.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

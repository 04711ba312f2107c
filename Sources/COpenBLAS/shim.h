// Debian's libopenblas-dev puts cblas.h under the OpenBLAS include directory registered with
// update-alternatives; /usr/include/x86_64-linux-gnu/cblas.h (or /usr/include/cblas.h) is the
// usual entry point.
#include <cblas.h>

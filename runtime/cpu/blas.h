// Internal to the CPU kernels: how they share the machine with OpenBLAS.
#ifndef WEFT_RUNTIME_CPU_BLAS_H
#define WEFT_RUNTIME_CPU_BLAS_H

#include <cblas.h>

namespace weft::cpu {

// OpenMP owns the cores; BLAS runs single-threaded inside our parallel loops.
// Debian's default OpenBLAS is the pthreads build, which does not notice it
// is called from an OpenMP region: its own 2 threads then fight ours, and on
// the 2-core machine attention over 96 heads took 112 ms instead of 19 ms.
// So that build is set to one thread, once (a magic static, so concurrent
// first callers wait), and large GEMMs are split across OpenMP threads by
// the callers, which matched OpenBLAS's own threading within 3%
// (4096x1024x1024: 25.9 vs 25.7 ms). The OpenMP build of OpenBLAS goes
// serial inside a parallel region by itself, and setting it to 1 thread
// would also set OpenMP's, so it is left alone. This changes OpenBLAS for
// the whole process. Inline, so every kernel file shares the one static.
inline void UseOpenMpForBlas() {
  static const bool done = [] {
    if (openblas_get_parallel() == 1) openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

}  // namespace weft::cpu

#endif

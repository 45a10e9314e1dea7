// A host shim for the CUDA kernel bodies (runtime/cuda/kernels/*.cuh), so a
// plain C++ compiler runs them: the CUDA keywords become nothing or
// `inline`, the built-in index variables thread-locals, atomics plain
// read-modify-writes, and Emulate() runs a launch by calling the kernel once
// per (block, thread). Include it before any kernel header, and no CUDA
// header in the same file. Emulate() is for kernels whose threads need not
// run concurrently (no __syncthreads, __shared__ or warp shuffles);
// block-cooperative kernels run with EmulateBlocks() (CudaBlockEmulation.h),
// which makes a block's threads real threads.
#ifndef WEFT_TESTS_RUNTIME_CUDAEMULATION_H
#define WEFT_TESTS_RUNTIME_CUDAEMULATION_H

#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#define WEFT_CUDA_EMULATION 1
#define __global__ inline
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Blocks run one after another (EmulateBlocks), so static storage is one
// block's shared memory.
#define __shared__ static

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline thread_local uint3 blockIdx, threadIdx;
inline thread_local dim3 blockDim, gridDim;

inline float atomicAdd(float *p, float v) {
  const float old = *p;
  *p = old + v;
  return old;
}
inline double atomicAdd(double *p, double v) {
  const double old = *p;
  *p = old + v;
  return old;
}
inline int atomicCAS(int *p, int compare, int value) {
  const int old = *p;
  if (old == compare) *p = value;
  return old;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace weft::cuda::emulation {

/// Runs kernel<<<blocks, threads>>>(args...) on this thread, one (block,
/// thread) after another; `reverse` walks them backwards, so that a kernel
/// whose result depends on its threads' order shows it.
template <typename... P, typename... A>
void Emulate(unsigned blocks, unsigned threads, bool reverse, void (*kernel)(P...), A... args) {
  gridDim = dim3{blocks, 1, 1};
  blockDim = dim3{threads, 1, 1};
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t) {
      blockIdx.x = reverse ? blocks - 1 - b : b;
      threadIdx.x = reverse ? threads - 1 - t : t;
      kernel(static_cast<P>(args)...);
    }
}

}  // namespace weft::cuda::emulation

#include "CudaBlockEmulation.h"

#endif

// What every kernel body (kernels/*.cuh) shares: grid-stride indexing, the
// launch shape, id loading and the device error flag.
//
// The bodies are written in a subset that a host C++ compiler can also run
// (tests/runtime/CudaEmulation.h). Most kernels compute independent outputs
// per thread in a grid-stride loop, their only cross-thread operations
// atomicAdd and atomicCAS; block-cooperative kernels (block_reduce.cuh) may
// also use __shared__ arrays, __syncthreads and full-warp xor/down shuffles,
// which the emulation runs with real threads. So the same text is compiled
// by nvcc for the GPU and run on the host by
// tests/runtime/CudaKernelEmulationTest.cc against the CPU kernels.
//
// Each op's host side is a `...Run(launch, ...)` function template in the
// same header: it validates arguments, picks kernels and orders them
// (`launch(kernel, work, ...)` for the former, `launch.Blocks(kernel,
// shape, ...)` for cooperative ones). The
// .cu launchers call it with DeviceLaunch (device_launch.cuh), the emulation
// test with its own Launch, so the order of kernels is tested too.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_PRELUDE_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_PRELUDE_CUH

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#elif !defined(WEFT_CUDA_EMULATION)
#error "kernel bodies need nvcc, or tests/runtime/CudaEmulation.h included first"
#endif

#include <cmath>
#include <cstdint>

#include "weft/tensor.h"

namespace weft::cuda::kernels {

/// Threads per block for every launch, and the most blocks: beyond that the
/// grid-stride loops take the rest (an H100 holds 132 SMs x 2048 threads).
constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

/// Blocks for `work` independent items (work > 0).
inline unsigned BlocksFor(int64_t work) {
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

/// This thread's first item and the stride of the grid-stride loop, in 64
/// bits: tensors pass 2^31 elements.
__device__ __forceinline__ int64_t FirstItem() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t ItemStride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

/// Id i of an i32 or i64 array (I is the element type).
template <typename I>
__device__ __forceinline__ int64_t IdAt(const void *ids, int64_t i) {
  return static_cast<int64_t>(static_cast<const I *>(ids)[i]);
}

/// Records a bad id at flat position `index`: *error becomes 1 + the
/// smallest such position (0 means none), whatever the threads' order, so
/// the report names the same position as the CPU kernel's.
__device__ __forceinline__ void ReportBadIndex(int32_t *error, int64_t index) {
  const int32_t mine = static_cast<int32_t>(index < 0x7ffffffe ? index + 1 : 0x7fffffff);
  int32_t seen = *error;
  while (seen == 0 || seen > mine) {
    const int32_t prev = atomicCAS(error, seen, mine);
    if (prev == seen) break;
    seen = prev;
  }
}

}  // namespace weft::cuda::kernels

#endif

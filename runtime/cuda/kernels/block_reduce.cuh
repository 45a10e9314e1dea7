// What the block- and warp-cooperative kernels share: their launch shapes
// (a block per row, a warp per row) and reductions by warp shuffles and
// shared memory. The reductions combine values in a fixed tree for a given
// block size, so results are the same run to run; IEEE addition and max are
// commutative, so every lane of a butterfly gets the same bits.
//
// These kernels need their threads to run concurrently; on the host they
// run under EmulateBlocks (tests/runtime/CudaBlockEmulation.h). Their host
// side launches them with `launch.Blocks(kernel, shape, args...)`; the
// kernels take their geometry from blockDim and gridDim (a block of any
// multiple of 32 threads up to 1024, any number of blocks: rows beyond the
// grid are strided over), so the emulation can run them on a smaller grid.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_BLOCK_REDUCE_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_BLOCK_REDUCE_CUH

#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

constexpr unsigned kFullMask = 0xffffffffu;

/// A cooperative launch: `blocks` blocks of `threads` threads.
struct BlockShape {
  unsigned blocks, threads;
};

/// The most blocks of a row launch; beyond, blocks stride over the rows.
constexpr int64_t kMaxRowBlocks = int64_t{1} << 16;

inline unsigned CappedBlocks(int64_t blocks) {
  return static_cast<unsigned>(blocks <= 0 ? 0 : blocks < kMaxRowBlocks ? blocks : kMaxRowBlocks);
}

/// One block per row of `width` elements: a power of two from 32 to 1024
/// threads, at least 8 elements each (a 50257-wide row of logits gets 1024).
inline BlockShape BlockPerRow(int64_t rows, int64_t width) {
  unsigned threads = 32;
  while (threads < 1024 && threads * 8 < width) threads *= 2;
  return {CappedBlocks(rows), threads};
}

/// One warp per row, 8 warps a block: for rows of a few hundred to a few
/// thousand elements (layer norm's 768).
constexpr unsigned kWarpRowThreads = 256;
inline BlockShape WarpPerRow(int64_t rows) {
  const int64_t warps = kWarpRowThreads / 32;
  return {CappedBlocks((rows + warps - 1) / warps), kWarpRowThreads};
}

/// This thread's lane, its warp's first row and the rows' stride, for a
/// warp-per-row loop (uniform across the warp, so its shuffles converge).
__device__ __forceinline__ unsigned Lane() { return threadIdx.x % 32; }
__device__ __forceinline__ int64_t WarpRow() {
  return (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
}
__device__ __forceinline__ int64_t WarpRowStride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
}

/// Combining operators of the reductions below: commutative, so every lane
/// of a butterfly gets the same bits.
struct Plus {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
/// Max where NaN wins (numpy's max), either operand's NaN.
struct NanMax {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a != a ? a : b != b ? b : a > b ? a : b;
  }
};

/// op over the warp; every lane gets it.
template <typename T, typename Op>
__device__ __forceinline__ T WarpReduce(T v, Op op) {
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

/// The sum over the warp; every lane gets it.
template <typename T>
__device__ __forceinline__ T WarpSum(T v) {
  return WarpReduce(v, Plus{});
}

/// op over the block; every thread gets it. `identity`: op's neutral
/// element; `scratch`: 32 elements of shared memory, free again when it
/// returns.
template <typename T, typename Op>
__device__ __forceinline__ T BlockReduce(T v, T *scratch, T identity, Op op) {
  v = WarpReduce(v, op);
  const unsigned warp = threadIdx.x / 32, warps = blockDim.x / 32;
  if (Lane() == 0) scratch[warp] = v;
  __syncthreads();
  v = WarpReduce(Lane() < warps ? scratch[Lane()] : identity, op);
  __syncthreads();  // every warp has read `scratch` before it is reused
  return v;
}

/// The sum over the block; every thread gets it (scratch as BlockReduce's).
template <typename T>
__device__ __forceinline__ T BlockSum(T v, T *scratch) {
  return BlockReduce(v, scratch, T(0), Plus{});
}

/// A running softmax denominator: the max seen and sum exp(x - max), so a
/// row is read once (the sum is rescaled when the max grows).
struct MaxSum {
  float max;
  double sum;
};

__device__ __forceinline__ MaxSum Combine(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  const double sa = a.max == m ? a.sum : a.sum * static_cast<double>(expf(a.max - m));
  const double sb = b.max == m ? b.sum : b.sum * static_cast<double>(expf(b.max - m));
  return {m, sa + sb};
}

/// Folds x in. -inf adds nothing (exp(-inf - -inf) would be NaN); NaN
/// makes the sum NaN, as in the CPU kernels.
__device__ __forceinline__ void Accumulate(MaxSum &v, float x) {
  if (x > v.max) {
    v.sum = v.sum * static_cast<double>(expf(v.max - x)) + 1.0;
    v.max = x;
  } else if (x != -INFINITY) {
    v.sum += static_cast<double>(expf(x - v.max));
  }
}

__device__ __forceinline__ MaxSum WarpMaxSum(MaxSum v) {
  for (int o = 16; o > 0; o /= 2) {
    const MaxSum other{__shfl_xor_sync(kFullMask, v.max, o), __shfl_xor_sync(kFullMask, v.sum, o)};
    v = Combine(v, other);
  }
  return v;
}

/// The max and sum of exp(x - max) over a row of n floats, read once by the
/// whole block with coalesced loads; every thread gets them.
/// `smax`/`ssum`: 32 elements each of shared memory.
__device__ __forceinline__ MaxSum BlockRowMaxSum(const float *row, int64_t n, float *smax,
                                                 double *ssum) {
  MaxSum v{-INFINITY, 0.0};
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) Accumulate(v, row[j]);
  v = WarpMaxSum(v);
  const unsigned warp = threadIdx.x / 32, warps = blockDim.x / 32;
  if (Lane() == 0) {
    smax[warp] = v.max;
    ssum[warp] = v.sum;
  }
  __syncthreads();
  v = Lane() < warps ? MaxSum{smax[Lane()], ssum[Lane()]} : MaxSum{-INFINITY, 0.0};
  v = WarpMaxSum(v);
  __syncthreads();
  return v;
}

}  // namespace weft::cuda::kernels

#endif

// The softmax instruction's kernels (softmax.h), the twins of cpu::Softmax.
// The common case (inner == 1: rows are contiguous, as for attention scores
// and logits) gives each row to a block, which reads it once for its max and
// sum of exponentials (BlockRowMaxSum, an online rescale) and once more to
// write it. A strided softmax (inner > 1) gives each thread one column, so
// that a warp's loads along `inner` are coalesced.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_SOFTMAX_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_SOFTMAX_CUH

#include "runtime/cuda/kernels/block_reduce.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

/// A block per row. The statistics are complete (the block synchronised)
/// before any element is written, and each element is then read and
/// written by one thread, so y may be x.
__global__ void __launch_bounds__(1024)
    SoftmaxRowsKernel(const float *x, float *y, int64_t rows, int64_t dim) {
  __shared__ float smax[32];
  __shared__ double ssum[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    const MaxSum ms = BlockRowMaxSum(xr, dim, smax, ssum);
    const float inv = 1.0f / static_cast<float>(ms.sum);
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = expf(xr[j] - ms.max) * inv;
  }
}

/// One thread per (outer, inner) column, its sum in double as the CPU's.
__global__ void SoftmaxColumnsKernel(const float *x, float *y, int64_t outer, int64_t dim,
                                     int64_t inner) {
  for (int64_t c = FirstItem(); c < outer * inner; c += ItemStride()) {
    const int64_t base = (c / inner) * dim * inner + c % inner;
    float m = -INFINITY;
    for (int64_t d = 0; d < dim; ++d) m = fmaxf(m, x[base + d * inner]);
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += expf(x[base + d * inner] - m);
    const float inv = 1.0f / static_cast<float>(s);
    for (int64_t d = 0; d < dim; ++d) y[base + d * inner] = expf(x[base + d * inner] - m) * inv;
  }
}

/// Attention's scores, in place (attention_gemm.h): row r is query r % sq
/// of sk scores; under `causal` it sees keys 0..query only, as the CPU's
/// attention has it: the softmax of those, zeros after.
__global__ void __launch_bounds__(1024)
    MaskedSoftmaxRowsKernel(float *x, int64_t rows, int64_t sq, int64_t sk, bool causal) {
  __shared__ float smax[32];
  __shared__ double ssum[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    float *xr = x + r * sk;
    const int64_t query = r % sq;
    const int64_t seen = causal && query + 1 < sk ? query + 1 : sk;
    const MaxSum ms = BlockRowMaxSum(xr, seen, smax, ssum);
    const float inv = 1.0f / static_cast<float>(ms.sum);
    for (int64_t j = threadIdx.x; j < sk; j += blockDim.x)
      xr[j] = j < seen ? expf(xr[j] - ms.max) * inv : 0.0f;
  }
}

template <typename Launch>
void MaskedSoftmaxRowsRun(const Launch &launch, float *x, int64_t rows, int64_t sq, int64_t sk,
                          bool causal) {
  if (rows <= 0 || sk <= 0 || sq <= 0) return;
  launch.Blocks(MaskedSoftmaxRowsKernel, BlockPerRow(rows, sk), x, rows, sq, sk, causal);
}

template <typename Launch>
void SoftmaxRun(const Launch &launch, const float *x, float *y, int64_t outer, int64_t dim,
                int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  if (inner == 1)
    launch.Blocks(SoftmaxRowsKernel, BlockPerRow(outer, dim), x, y, outer, dim);
  else
    launch(SoftmaxColumnsKernel, outer * inner, x, y, outer, dim, inner);
}

}  // namespace weft::cuda::kernels

#endif

// Softmax kernels. The common case (inner == 1: rows are contiguous, as for
// attention scores and logits) gives each row to one block, which reads the
// row three times from L2/L1-resident memory: max, sum of exponentials,
// scale. A strided softmax (inner > 1) gives each thread one column, so that
// a warp's loads along `inner` are coalesced.
#include <cfloat>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/softmax.h"

namespace weft::cuda {
namespace {

constexpr int kRowThreads = 256;

// The block-wide reduction of one value per thread; every thread gets the
// result. `op` is max or plus, and `identity` its neutral value.
template <typename Op>
__device__ float BlockReduce(float v, Op op, float identity, float *shared) {
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? shared[lane] : identity;
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();  // `shared` is reused by the next reduction
  return v;
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Plus {
  __device__ float operator()(float a, float b) const { return a + b; }
};

__global__ void __launch_bounds__(kRowThreads) SoftmaxRows(const float *x, float *y, int64_t dim) {
  __shared__ float shared[32];
  const float *xr = x + blockIdx.x * dim;
  float *yr = y + blockIdx.x * dim;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) m = fmaxf(m, xr[j]);
  m = BlockReduce(m, Max(), -FLT_MAX, shared);
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) s += expf(xr[j] - m);
  s = BlockReduce(s, Plus(), 0.0f, shared);
  const float inv = 1.0f / s;
  for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
}

__global__ void SoftmaxColumns(const float *x, float *y, int64_t outer, int64_t dim,
                               int64_t inner) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= outer * inner) return;
  const int64_t o = c / inner, i = c % inner;
  const float *xc = x + o * dim * inner + i;
  float *yc = y + o * dim * inner + i;
  float m = -FLT_MAX;
  for (int64_t d = 0; d < dim; ++d) m = fmaxf(m, xc[d * inner]);
  float s = 0.0f;
  for (int64_t d = 0; d < dim; ++d) s += expf(xc[d * inner] - m);
  const float inv = 1.0f / s;
  for (int64_t d = 0; d < dim; ++d) yc[d * inner] = expf(xc[d * inner] - m) * inv;
}

}  // namespace

absl::Status Softmax(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner,
                     cudaStream_t stream) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return absl::OkStatus();
  if (inner == 1) {
    if (outer > 0x7fffffff)
      return absl::InvalidArgumentError(absl::StrCat("softmax over ", outer, " rows"));
    SoftmaxRows<<<static_cast<unsigned>(outer), kRowThreads, 0, stream>>>(x, y, dim);
  } else {
    const int64_t columns = outer * inner, threads = 256;
    SoftmaxColumns<<<static_cast<unsigned>((columns + threads - 1) / threads), threads, 0,
                     stream>>>(x, y, outer, dim, inner);
  }
  WEFT_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return absl::OkStatus();
}

}  // namespace weft::cuda

#include <cfloat>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/attention_gemm.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"

namespace weft::cuda {
namespace {

constexpr int kThreads = 256;

// A block-wide reduction of one value per thread, every thread getting the
// result (softmax.cu's pattern).
template <typename Op>
__device__ float BlockReduce(float v, Op op, float identity, float *shared) {
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? shared[lane] : identity;
  for (int o = 16; o > 0; o /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  return v;
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Plus {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// One block per row: max, sum of exponentials, scale, as the CPU's
// SoftmaxRow; entries past the causal limit become 0.
__global__ void __launch_bounds__(kThreads)
    MaskedSoftmaxKernel(float *x, int64_t sq, int64_t sk, bool causal) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x;
  float *r = x + row * sk;
  const int64_t query = row % sq;
  const int64_t seen = causal ? (query + 1 < sk ? query + 1 : sk) : sk;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) m = fmaxf(m, r[j]);
  m = BlockReduce(m, Max(), -FLT_MAX, shared);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) sum += expf(r[j] - m);
  sum = BlockReduce(sum, Plus(), 0.0f, shared);
  const float inv = 1.0f / sum;
  for (int64_t j = threadIdx.x; j < sk; j += blockDim.x) r[j] = j < seen ? expf(r[j] - m) * inv : 0.0f;
}

// The scores: scale q k^T for every (batch, head), then the masked softmax.
absl::Status Probabilities(Gemm &gemm, const float *q, const float *k, const AttentionShape &s,
                           float *p, cudaStream_t stream) {
  GemmShape g;
  g.batch = s.b * s.h, g.m = s.sq, g.n = s.sk, g.k = s.dh;
  g.transpose_b = true, g.b_batched = true, g.alpha = s.scale;
  if (absl::Status st = gemm.Run(q, k, p, g, DType::kF32, stream); !st.ok()) return st;
  return MaskedSoftmaxRows(p, s.b * s.h * s.sq, s.sq, s.sk, s.causal, stream);
}

}  // namespace

absl::Status MaskedSoftmaxRows(float *x, int64_t rows, int64_t sq, int64_t sk, bool causal,
                               cudaStream_t stream) {
  if (rows <= 0 || sk <= 0) return absl::OkStatus();
  if (rows > 0x7fffffff) return absl::InvalidArgumentError(absl::StrCat("softmax over ", rows, " rows"));
  MaskedSoftmaxKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, sq, sk, causal);
  WEFT_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return absl::OkStatus();
}

absl::Status AttentionByGemm(Gemm &gemm, const float *q, const float *k, const float *v, float *out,
                             const AttentionShape &s, void *scratch, cudaStream_t stream) {
  const int64_t heads = s.b * s.h;
  if (heads <= 0 || s.sq <= 0 || s.dv <= 0) return absl::OkStatus();
  if (s.sk <= 0) {  // no keys: an empty sum, as on the CPU
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out, 0, heads * s.sq * s.dv * 4, stream));
    return absl::OkStatus();
  }
  float *p = static_cast<float *>(scratch);
  if (absl::Status st = Probabilities(gemm, q, k, s, p, stream); !st.ok()) return st;
  GemmShape g;  // out = p v
  g.batch = heads, g.m = s.sq, g.n = s.dv, g.k = s.sk, g.b_batched = true;
  return gemm.Run(p, v, out, g, DType::kF32, stream);
}

absl::Status AttentionGradByGemm(Gemm &gemm, const float *q, const float *k, const float *v,
                                 const float *dout, float *dq, float *dk, float *dv,
                                 const AttentionShape &s, void *scratch, cudaStream_t stream) {
  const int64_t heads = s.b * s.h;
  if (heads <= 0) return absl::OkStatus();
  if (s.sq <= 0 || s.sk <= 0) {  // no scores: every gradient is an empty sum
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dq, 0, heads * s.sq * s.dh * 4, stream));
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dk, 0, heads * s.sk * s.dh * 4, stream));
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dv, 0, heads * s.sk * s.dv * 4, stream));
    return absl::OkStatus();
  }
  const int64_t scores = heads * s.sq * s.sk;
  float *p = static_cast<float *>(scratch), *dp = p + scores, *ds = dp + scores;
  if (absl::Status st = Probabilities(gemm, q, k, s, p, stream); !st.ok()) return st;
  GemmShape g;
  // dv = p^T dout: [sk, sq] x [sq, dv]
  g = GemmShape();
  g.batch = heads, g.m = s.sk, g.n = s.dv, g.k = s.sq, g.transpose_a = true, g.b_batched = true;
  if (absl::Status st = gemm.Run(p, dout, dv, g, DType::kF32, stream); !st.ok()) return st;
  // dp = dout v^T: [sq, dv] x [dv, sk]
  g = GemmShape();
  g.batch = heads, g.m = s.sq, g.n = s.sk, g.k = s.dv, g.transpose_b = true, g.b_batched = true;
  if (absl::Status st = gemm.Run(dout, v, dp, g, DType::kF32, stream); !st.ok()) return st;
  // ds = p (dp - rowsum(dp p)): the softmax's gradient (masked entries, p = 0, stay 0).
  if (absl::Status st = SoftmaxGrad(p, dp, ds, scores / s.sk, s.sk, 1, stream); !st.ok()) return st;
  // dq = scale ds k: [sq, sk] x [sk, dh]
  g = GemmShape();
  g.batch = heads, g.m = s.sq, g.n = s.dh, g.k = s.sk, g.b_batched = true, g.alpha = s.scale;
  if (absl::Status st = gemm.Run(ds, k, dq, g, DType::kF32, stream); !st.ok()) return st;
  // dk = scale ds^T q: [sk, sq] x [sq, dh]
  g = GemmShape();
  g.batch = heads, g.m = s.sk, g.n = s.dh, g.k = s.sq, g.transpose_a = true, g.b_batched = true,
  g.alpha = s.scale;
  return gemm.Run(ds, q, dk, g, DType::kF32, stream);
}

}  // namespace weft::cuda

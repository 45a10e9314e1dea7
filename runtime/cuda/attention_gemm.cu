#include "runtime/cuda/attention_gemm.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"

namespace weft::cuda {
namespace {

// c = a x b as a bf16 GEMM on the bf16 copies when there are some and
// cuBLASLt takes the shape (a head size of 1 may leave it without an
// algorithm for 2-byte rows), else as the f32 GEMM on the same values.
absl::Status Product(Gemm &gemm, const uint16_t *a16, const uint16_t *b16, const float *a,
                     const float *b, float *c, const GemmShape &g, cudaStream_t stream) {
  if (a16 && b16) {
    const absl::Status st = gemm.Run(a16, b16, c, g, DType::kBF16, DType::kF32, stream);
    if (st.code() != absl::StatusCode::kUnimplemented &&
        st.code() != absl::StatusCode::kInvalidArgument)
      return st;
  }
  return gemm.Run(a, b, c, g, DType::kF32, stream);
}

// The scores: scale q k^T for every (batch, head), then the masked softmax.
absl::Status Probabilities(Gemm &gemm, const float *q, const float *k, const AttentionShape &s,
                           float *p, cudaStream_t stream, const Bf16Operands &bf16) {
  GemmShape g;
  g.batch = s.b * s.h, g.m = s.sq, g.n = s.sk, g.k = s.dh;
  g.transpose_b = true, g.b_batched = true, g.alpha = s.scale;
  if (absl::Status st = Product(gemm, bf16.q, bf16.k, q, k, p, g, stream); !st.ok()) return st;
  return MaskedSoftmaxRows(p, s.b * s.h * s.sq, s.sq, s.sk, s.causal, stream);
}

}  // namespace

absl::Status AttentionByGemm(Gemm &gemm, const float *q, const float *k, const float *v, float *out,
                             const AttentionShape &s, void *scratch, cudaStream_t stream,
                             const Bf16Operands &bf16) {
  const int64_t heads = s.b * s.h;
  if (heads <= 0 || s.sq <= 0 || s.dv <= 0) return absl::OkStatus();
  if (s.sk <= 0) {  // no keys: an empty sum, as on the CPU
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out, 0, heads * s.sq * s.dv * 4, stream));
    return absl::OkStatus();
  }
  float *p = static_cast<float *>(scratch);
  if (absl::Status st = Probabilities(gemm, q, k, s, p, stream, bf16); !st.ok()) return st;
  GemmShape g;  // out = p v
  g.batch = heads, g.m = s.sq, g.n = s.dv, g.k = s.sk, g.b_batched = true;
  g.fast_bf16 = bf16.fast_products;
  return gemm.Run(p, v, out, g, DType::kF32, stream);
}

absl::Status AttentionGradByGemm(Gemm &gemm, const float *q, const float *k, const float *v,
                                 const float *dout, float *dq, float *dk, float *dv,
                                 const AttentionShape &s, void *scratch, cudaStream_t stream,
                                 const Bf16Operands &bf16) {
  const int64_t heads = s.b * s.h;
  if (heads <= 0) return absl::OkStatus();
  if (s.sq <= 0 || s.sk <= 0) {  // no scores: every gradient is an empty sum
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dq, 0, heads * s.sq * s.dh * 4, stream));
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dk, 0, heads * s.sk * s.dh * 4, stream));
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dv, 0, heads * s.sk * s.dv * 4, stream));
    return absl::OkStatus();
  }
  const int64_t scores = heads * s.sq * s.sk;
  float *p = static_cast<float *>(scratch), *dp = p + scores;
  if (absl::Status st = Probabilities(gemm, q, k, s, p, stream, bf16); !st.ok()) return st;
  GemmShape g;
  // dv = p^T dout: [sk, sq] x [sq, dv]
  g = GemmShape();
  g.batch = heads, g.m = s.sk, g.n = s.dv, g.k = s.sq, g.transpose_a = true, g.b_batched = true;
  g.fast_bf16 = bf16.fast_products;
  if (absl::Status st = gemm.Run(p, dout, dv, g, DType::kF32, stream); !st.ok()) return st;
  // dp = dout v^T: [sq, dv] x [dv, sk]
  g = GemmShape();
  g.batch = heads, g.m = s.sq, g.n = s.sk, g.k = s.dv, g.transpose_b = true, g.b_batched = true;
  if (absl::Status st = Product(gemm, bf16.dout, bf16.v, dout, v, dp, g, stream); !st.ok())
    return st;
  // ds = p (dp - rowsum(dp p)): the softmax's gradient (masked entries, p = 0,
  // stay 0), written over dp (SoftmaxGrad allows dx = dy).
  float *ds = dp;
  if (absl::Status st = SoftmaxGrad(p, dp, ds, scores / s.sk, s.sk, 1, stream); !st.ok()) return st;
  // dq = scale ds k: [sq, sk] x [sk, dh]
  g = GemmShape();
  g.batch = heads, g.m = s.sq, g.n = s.dh, g.k = s.sk, g.b_batched = true, g.alpha = s.scale;
  g.fast_bf16 = bf16.fast_products;
  if (absl::Status st = gemm.Run(ds, k, dq, g, DType::kF32, stream); !st.ok()) return st;
  // dk = scale ds^T q: [sk, sq] x [sq, dh]
  g = GemmShape();
  g.batch = heads, g.m = s.sk, g.n = s.dh, g.k = s.sq, g.transpose_a = true, g.b_batched = true,
  g.alpha = s.scale;
  g.fast_bf16 = bf16.fast_products;
  return gemm.Run(ds, q, dk, g, DType::kF32, stream);
}

}  // namespace weft::cuda

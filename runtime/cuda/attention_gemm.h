// Attention as cuBLASLt GEMMs and a masked row softmax, the way the CPU
// backend computes it (cpu::Attention: scores = scale q k^T, the causal
// softmax, then times v) and PyTorch's "math" SDPA does: the scores of every
// (batch, head) are materialised in scratch, so it needs
// ScoresBytes() (forward) or 2 x ScoresBytes() (backward) of device memory,
// and in exchange runs at GEMM speed (tensor cores), where the tiled SIMT
// flash kernel of kernels.h (kernels/attention.cuh: no scores in memory)
// runs on f32 FMAs. A tensor-core flash kernel would replace both.
//
// Shapes as kernels.h's Attention: q [b, h, sq, dh], k [b, h, sk, dh],
// v [b, h, sk, dv]; causal: query i sees keys 0..i.
#ifndef WEFT_RUNTIME_CUDA_ATTENTION_GEMM_H
#define WEFT_RUNTIME_CUDA_ATTENTION_GEMM_H

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "runtime/cuda/gemm.h"

namespace weft::cuda {

struct AttentionShape {
  int64_t b = 1, h = 1, sq = 0, sk = 0, dh = 0, dv = 0;
  bool causal = false;
  float scale = 1.0f;
};

/// Bytes of one f32 scores matrix for every (batch, head): b h sq sk 4.
inline int64_t ScoresBytes(const AttentionShape &s) { return s.b * s.h * s.sq * s.sk * 4; }

/// --precision=bf16's operands as bf16 (device memory, the same values as
/// the rounded f32 ones passed beside them). The products of two of them,
/// q k^T and dout v^T, then run as bf16 GEMMs on tensor cores with f32
/// accumulation: products of bf16 values are exact in f32, so only the
/// order of the sums differs from the f32 GEMM. The products with the f32
/// probabilities and their gradient stay f32 (docs/precision.md).
struct Bf16Operands {
  const uint16_t *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr;
  // WEFT_CUDA_BF16_GEMM=fast: the products with the probabilities (and
  // their gradient) as CUBLAS_COMPUTE_32F_FAST_16BF GEMMs too, which round
  // those to bf16 inside the GEMM, as autocast's attention does: every
  // product on tensor cores, no longer the CPU's numbers to f32 tolerance.
  bool fast_products = false;
};

/// out = softmax(scale q k^T, causal) v. `scratch`: ScoresBytes(s) bytes.
absl::Status AttentionByGemm(Gemm &gemm, const float *q, const float *k, const float *v, float *out,
                             const AttentionShape &s, void *scratch, cudaStream_t stream,
                             const Bf16Operands &bf16 = {});

/// The gradients of AttentionByGemm's out (recomputing the scores):
/// dq, dk, dv from dout. `scratch`: 2 x ScoresBytes(s) bytes.
absl::Status AttentionGradByGemm(Gemm &gemm, const float *q, const float *k, const float *v,
                                 const float *dout, float *dq, float *dk, float *dv,
                                 const AttentionShape &s, void *scratch, cudaStream_t stream,
                                 const Bf16Operands &bf16 = {});

/// In place over `rows` rows of `sk` scores: row r is query r % sq; under
/// `causal` it keeps keys 0..query (the rest become 0) and takes the
/// softmax of those.
absl::Status MaskedSoftmaxRows(float *x, int64_t rows, int64_t sq, int64_t sk, bool causal,
                               cudaStream_t stream);

}  // namespace weft::cuda

#endif

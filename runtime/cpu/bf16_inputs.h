// weftc --precision=bf16 on the CPU: the kernels of the instructions that
// carry bf16_inputs = 1 (runtime/artifact/artifact.fbs). Each rounds its
// float inputs to bf16 (round to nearest, ties to even, as torch's
// .to(torch.bfloat16)) into scratch, kept as f32 values, then runs the f32
// kernel: bf16 x bf16 products are exact in f32, so this is bf16 inputs with
// f32 accumulation and an f32 result, what cuBLASLt computes on a GPU.
#ifndef WEFT_RUNTIME_CPU_BF16_INPUTS_H
#define WEFT_RUNTIME_CPU_BF16_INPUTS_H

#include <cstdint>

namespace weft::cpu {

/// dst[i] = src[i] rounded to the nearest bf16 (ties to even), as an f32.
/// NaN stays NaN, infinities stay, values past bf16's largest become inf.
/// dst may be src.
void RoundToBf16(const float *src, float *dst, int64_t n);

/// cpu::Matmul with both operands rounded to bf16 first.
void MatmulBf16Inputs(const float *a, const float *b, float *c, int64_t batch, int64_t m,
                      int64_t n, int64_t k, bool transpose_a, bool transpose_b, bool b_batched);

/// cpu::Attention with q, k and v rounded to bf16 first; the scores, the
/// softmax and the weighted sum of v stay f32 (autocast's SDPA would keep
/// the probabilities in bf16; we keep f32 inside the op).
void AttentionBf16Inputs(const float *q, const float *k, const float *v, float *out, int64_t b,
                         int64_t h, int64_t sq, int64_t sk, int64_t dh, int64_t dv, bool causal,
                         float scale);

/// cpu::AttentionGrad with q, k, v and dout rounded to bf16 first.
void AttentionGradBf16Inputs(const float *q, const float *k, const float *v, const float *dout,
                             float *dq, float *dk, float *dv, int64_t b, int64_t h, int64_t sq,
                             int64_t sk, int64_t dh, int64_t dvdim, bool causal, float scale);

}  // namespace weft::cpu

#endif

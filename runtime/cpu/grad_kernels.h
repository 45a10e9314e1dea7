// The CPU backend's gradient kernels: what weft-autodiff emits for the ops
// whose backward the forward ops cannot express. Dense row-major f32, like
// kernels.h; each mirrors a forward kernel there.
#ifndef WEFT_RUNTIME_CPU_GRAD_KERNELS_H
#define WEFT_RUNTIME_CPU_GRAD_KERNELS_H

#include <cstdint>

#include "absl/status/status.h"
#include "weft/tensor.h"

namespace weft::cpu {

/// y = softmax(x) over the middle dim of [outer, dim, inner]; given y and
/// dy, dx = y * (dy - sum_dim(dy * y)).
void SoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer, int64_t dim,
                 int64_t inner);

/// Gradients of y = LayerNorm(x; gamma, beta, eps) over the last dim of
/// [rows, d] (biased variance, as LayerNorm): dx [rows, d], dgamma [d],
/// dbeta [d]. The statistics are recomputed from x.
void LayerNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                   float *dgamma, float *dbeta, int64_t rows, int64_t d, float eps);

/// Gradients of y = x / sqrt(mean(x^2) + eps) * gamma: dx, dgamma.
void RmsNormGrad(const float *x, const float *gamma, const float *dy, float *dx, float *dgamma,
                 int64_t rows, int64_t d, float eps);

/// dtable [vocab, d] = 0, then dtable[ids[i], :] += dy[i, :] for i < n.
/// An id outside [0, vocab) is an error naming it and its position.
/// A vocabulary shard (total > 0, as Embedding) gets the rows of its ids
/// [begin, begin + vocab) only.
absl::Status EmbeddingGrad(const void *ids, DType id_type, const float *dy, float *dtable,
                           int64_t vocab, int64_t d, int64_t n, int64_t begin = 0,
                           int64_t total = 0);

/// Gradients of out = softmax(q k^T * scale [+ causal mask]) v, for q [b, h,
/// sq, dh], k [b, h, sk, dh], v [b, h, sk, dv], dout [b, h, sq, dv]: dq, dk,
/// dv of the operands' shapes. The probabilities are recomputed per head.
void AttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                   float *dq, float *dk, float *dv, int64_t b, int64_t h, int64_t sq, int64_t sk,
                   int64_t dh, int64_t dvdim, bool causal, float scale);

/// d(mean over rows of CE(logits[r], labels[r])) / dlogits, times *dloss:
/// (softmax(logits[r]) - onehot(labels[r])) * dloss / rows.
absl::Status CrossEntropyGrad(const float *logits, const void *labels, DType label_type,
                              const float *dloss, float *dlogits, int64_t rows, int64_t classes);

}  // namespace weft::cpu

#endif

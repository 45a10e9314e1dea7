// The CPU backend's reference kernels. Every tensor is dense and row-major;
// float kernels compute in f32. GEMMs go to a BLAS (OpenBLAS); loops are
// parallelised with OpenMP where the work is large enough to pay.
// Kernels that can meet bad data (ids, labels) return a Status naming it.
#ifndef WEFT_RUNTIME_CPU_KERNELS_H
#define WEFT_RUNTIME_CPU_KERNELS_H

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "weft/tensor.h"

namespace weft::cpu {

/// c[batch, m, n] = a[batch, m, k] x b[batch or 1, k, n], where a is stored
/// [k, m] when transpose_a and b is stored [n, k] when transpose_b. When
/// b_batched is false, b is one matrix shared by every batch entry.
void Matmul(const float *a, const float *b, float *c, int64_t batch, int64_t m,
            int64_t n, int64_t k, bool transpose_a, bool transpose_b,
            bool b_batched);

/// Softmax over the middle dimension of [outer, dim, inner].
void Softmax(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner);

/// Over the last dimension d of [rows, d]: (x - mean) / sqrt(var + eps) *
/// gamma + beta, with the biased variance.
void LayerNorm(const float *x, const float *gamma, const float *beta, float *y,
               int64_t rows, int64_t d, float eps);

/// One row's LayerNorm statistics, shared by LayerNorm and its gradient so
/// that they agree: the mean, then the variance about it (two passes over a
/// row that stays in cache, no E[x^2]-E[x]^2 cancellation), sums in double.
struct RowStats {
  double mean, inv;  // inv = 1 / sqrt(var + eps)
};
inline RowStats LayerNormRowStats(const float *xr, int64_t d, float eps) {
  double sum = 0;
  for (int64_t j = 0; j < d; ++j) sum += xr[j];
  const double mean = sum / d;
  double sq = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = xr[j] - mean;
    sq += t * t;
  }
  return {mean, 1.0 / std::sqrt(sq / d + eps)};
}

/// Over the last dimension: x / sqrt(mean(x^2) + eps) * gamma.
void RmsNorm(const float *x, const float *gamma, float *y, int64_t rows,
             int64_t d, float eps);

/// out[i, :] = table[ids[i], :] for i < n; ids are i32 or i64 per id_type.
/// An id outside [0, vocab) is an error naming the id and its position.
/// A vocabulary shard (total > 0) holds ids [begin, begin + vocab) of
/// [0, total): other ids give zero rows, ids outside [0, total) an error.
absl::Status Embedding(const float *table, int64_t vocab, int64_t d,
                       const void *ids, DType id_type, int64_t n, float *out,
                       int64_t begin = 0, int64_t total = 0);

/// q [b, h, sq, dh], k [b, h, sk, dh], v [b, h, sk, dv] -> out [b, h, sq, dv]:
/// softmax(q k^T * scale) v, where with `causal` query i sees keys 0..i.
void Attention(const float *q, const float *k, const float *v, float *out,
               int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t dh,
               int64_t dv, bool causal, float scale);

/// The mean over rows of logsumexp(logits[r, :]) - logits[r, labels[r]].
/// A label outside [0, classes) is an error naming it and its row.
absl::Status CrossEntropy(const float *logits, const void *labels,
                          DType label_type, int64_t rows, int64_t classes,
                          float *loss);

enum class ReduceKind { kSum, kMax, kMean };
/// Reduces x of `shape` over the dimensions where reduce_dim[i] is true;
/// y holds the kept dimensions in order (keep_dims only changes the shape).
void Reduce(const float *x, float *y, const std::vector<int64_t> &shape,
            const std::vector<bool> &reduce_dim, ReduceKind kind);
/// The same for i32 / i64 tensors (sum and max only).
void ReduceInt(const void *x, void *y, DType dtype,
               const std::vector<int64_t> &shape,
               const std::vector<bool> &reduce_dim, ReduceKind kind);

/// The one layout kernel: for every index i of `shape`,
///   dst[dst_offset + sum(i * dst_strides)] = src[src_offset + sum(i * src_strides)]
/// with offsets and strides in elements of `element_size` bytes. Transpose,
/// slice, concat and broadcast are all this with different strides (a
/// broadcast dimension has a source stride of 0).
void CopyStrided(const void *src, int64_t src_offset,
                 const std::vector<int64_t> &src_strides, void *dst,
                 int64_t dst_offset, const std::vector<int64_t> &dst_strides,
                 const std::vector<int64_t> &shape, size_t element_size);

/// Element type conversion, n elements; floats round to nearest even, float
/// to integer truncates toward zero (as numpy's astype does).
void Cast(const void *src, DType src_type, void *dst, DType dst_type, int64_t n);

/// bf16 and f16 to and from f32 (round to nearest even).
float Bf16ToF32(uint16_t x);
uint16_t F32ToBf16(float x);
float F16ToF32(uint16_t x);
uint16_t F32ToF16(float x);

}  // namespace weft::cpu

#endif

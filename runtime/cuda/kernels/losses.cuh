// Embeddings and losses: Embedding(Grad), CrossEntropy(Grad) and the
// vocabulary-parallel VocabShardStats(Grad), the twins of the CPU kernels.
// Ids and labels are checked here, on the device: a bad one sets the error
// flag (ReportBadIndex: 1 + the first bad position, as the CPU kernel
// names), its outputs are zeros, and nothing is read at it.
//
// Correctness first: one thread per row for the row reductions, and
// EmbeddingGrad gives one thread a column and walks every id in order (a
// repeated id's rows are added in id order, as on the CPU, so the result
// does not depend on timing). The fast one should give a row of logits to a
// block (shuffle reductions, one read for max and sum with an online
// rescale), and EmbeddingGrad should sort the ids (or bucket them per row)
// and give each table row's additions to one warp.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_LOSSES_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_LOSSES_CUH

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

inline absl::Status CheckIdType(DType type, const char *what) {
  if (type == DType::kI32 || type == DType::kI64) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " must be i32 or i64, not ", DTypeName(type)));
}

// Runs the statements with I the id type's C++ type (i32 or i64).
#define WEFT_ID_DISPATCH(type, I, ...)   \
  if ((type) == DType::kI32) {           \
    using I = int32_t;                   \
    __VA_ARGS__;                         \
  } else {                               \
    using I = int64_t;                   \
    __VA_ARGS__;                         \
  }

// ---------------------------------------------------------------- Embedding

/// One thread per output element (width = max(d, 1), so that with d = 0
/// every id is still checked).
template <typename I>
__global__ void EmbeddingKernel(const float *table, int64_t vocab, int64_t d, const void *ids,
                                int64_t n, float *out, int64_t begin, int64_t total,
                                int32_t *error) {
  const int64_t width = d > 0 ? d : 1;
  for (int64_t e = FirstItem(); e < n * width; e += ItemStride()) {
    const int64_t i = e / width, c = e % width;
    const int64_t id = IdAt<I>(ids, i);
    float v = 0.0f;
    if (id < 0 || id >= total) {
      if (c == 0) ReportBadIndex(error, i);
    } else if (id - begin >= 0 && id - begin < vocab) {
      v = table[(id - begin) * d + c];
    }
    if (c < d) out[i * d + c] = v;
  }
}

template <typename Launch>
absl::Status EmbeddingRun(const Launch &launch, const float *table, int64_t vocab, int64_t d,
                          const void *ids, DType id_type, int64_t n, float *out, int64_t begin,
                          int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(id_type, "embedding ids"); !s.ok()) return s;
  if (total <= 0) total = vocab;
  const int64_t work = n * (d > 0 ? d : 1);
  WEFT_ID_DISPATCH(id_type, I,
                   launch(EmbeddingKernel<I>, work, table, vocab, d, ids, n, out, begin, total, error));
  return absl::OkStatus();
}

__global__ void ZeroFloats(float *p, int64_t n) {
  for (int64_t i = FirstItem(); i < n; i += ItemStride()) p[i] = 0.0f;
}

/// One thread per column c (max(d, 1) of them): dtable[id - begin, c] +=
/// dy[i, c] for every i in order.
template <typename I>
__global__ void EmbeddingGradKernel(const void *ids, const float *dy, float *dtable,
                                    int64_t vocab, int64_t d, int64_t n, int64_t begin,
                                    int64_t total, int32_t *error) {
  const int64_t width = d > 0 ? d : 1;
  for (int64_t c = FirstItem(); c < width; c += ItemStride()) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t id = IdAt<I>(ids, i);
      if (id < 0 || id >= total) {
        if (c == 0) ReportBadIndex(error, i);
        continue;
      }
      const int64_t r = id - begin;
      if (r >= 0 && r < vocab && c < d) dtable[r * d + c] += dy[i * d + c];
    }
  }
}

template <typename Launch>
absl::Status EmbeddingGradRun(const Launch &launch, const void *ids, DType id_type,
                              const float *dy, float *dtable, int64_t vocab, int64_t d, int64_t n,
                              int64_t begin, int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(id_type, "embedding ids"); !s.ok()) return s;
  if (total <= 0) total = vocab;
  launch(ZeroFloats, vocab * d, dtable, vocab * d);
  if (n <= 0) return absl::OkStatus();
  WEFT_ID_DISPATCH(id_type, I,
                   launch(EmbeddingGradKernel<I>, d > 0 ? d : 1, ids, dy, dtable, vocab, d, n,
                          begin, total, error));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- CrossEntropy

__device__ __forceinline__ float RowMaxOf(const float *row, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = row[j] > m ? row[j] : m;
  return m;
}

// sum_j exp(row[j] - shift), in double.
__device__ __forceinline__ double ExpSum(const float *row, int64_t n, float shift) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += expf(row[j] - shift);
  return s;
}

/// losses[r] = logsumexp(row r) - row r's logit at its label (0 for a bad
/// label).
template <typename I>
__global__ void CrossEntropyRowsKernel(const float *logits, const void *labels, int64_t rows,
                                       int64_t classes, double *losses, int32_t *error) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= classes) {
      ReportBadIndex(error, r);
      losses[r] = 0;
      continue;
    }
    const float *row = logits + r * classes;
    const float max = RowMaxOf(row, classes);
    losses[r] = max + log(ExpSum(row, classes, max)) - row[label];
  }
}

/// One thread: the mean of the row losses, added in row order (NaN for no
/// rows, as numpy's mean).
__global__ void CrossEntropyMeanKernel(const double *losses, int64_t rows, float *loss) {
  if (FirstItem() != 0) return;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) total += losses[r];
  *loss = static_cast<float>(total / static_cast<double>(rows));
}

/// `losses`: scratch for `rows` doubles.
template <typename Launch>
absl::Status CrossEntropyRun(const Launch &launch, const float *logits, const void *labels,
                             DType label_type, int64_t rows, int64_t classes, float *loss,
                             int32_t *error, double *losses) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  const int64_t r = rows > 0 ? rows : 0;
  WEFT_ID_DISPATCH(label_type, I,
                   launch(CrossEntropyRowsKernel<I>, r, logits, labels, r, classes, losses, error));
  launch(CrossEntropyMeanKernel, 1, static_cast<const double *>(losses), r, loss);
  return absl::OkStatus();
}

/// One thread per row: (softmax(row) - onehot(label)) * dloss / rows. The
/// row's max and sum are taken before it is written, so dlogits may alias
/// logits.
template <typename I>
__global__ void CrossEntropyGradKernel(const float *logits, const void *labels,
                                       const float *dloss, float *dlogits, int64_t rows,
                                       int64_t classes, int32_t *error) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const float *row = logits + r * classes;
    float *out = dlogits + r * classes;
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= classes) {
      ReportBadIndex(error, r);
      for (int64_t j = 0; j < classes; ++j) out[j] = 0.0f;
      continue;
    }
    const float g = static_cast<float>(static_cast<double>(*dloss) / rows);
    const float max = RowMaxOf(row, classes);
    const float f = g / static_cast<float>(ExpSum(row, classes, max));
    for (int64_t j = 0; j < classes; ++j) out[j] = expf(row[j] - max) * f;
    out[label] -= g;
  }
}

template <typename Launch>
absl::Status CrossEntropyGradRun(const Launch &launch, const float *logits, const void *labels,
                                 DType label_type, const float *dloss, float *dlogits,
                                 int64_t rows, int64_t classes, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch(CrossEntropyGradKernel<I>, rows, logits, labels, dloss, dlogits, rows,
                          classes, error));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- VocabShardStats

/// One thread per row: stats[r] = (sum_j exp(logits[r, j] - max[r]), the
/// label's shifted logit if the label is in the shard, else 0).
template <typename I>
__global__ void VocabShardStatsKernel(const float *logits, const void *labels, const float *max,
                                      float *stats, int64_t rows, int64_t classes, int64_t begin,
                                      int64_t total, int32_t *error) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= total) {
      ReportBadIndex(error, r);
      stats[2 * r] = stats[2 * r + 1] = 0.0f;
      continue;
    }
    const float *row = logits + r * classes;
    stats[2 * r] = static_cast<float>(ExpSum(row, classes, max[r]));
    const int64_t j = label - begin;
    stats[2 * r + 1] = j >= 0 && j < classes ? row[j] - max[r] : 0.0f;
  }
}

template <typename Launch>
absl::Status VocabShardStatsRun(const Launch &launch, const float *logits, const void *labels,
                                DType label_type, const float *max, float *stats, int64_t rows,
                                int64_t classes, int64_t begin, int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch(VocabShardStatsKernel<I>, rows, logits, labels, max, stats, rows,
                          classes, begin, total, error));
  return absl::OkStatus();
}

/// One thread per element: dlogits[r, j] = dstats[r, 0] * exp(logits[r, j]
/// - max[r]) (+ dstats[r, 1] at the label's column).
template <typename I>
__global__ void VocabShardStatsGradKernel(const float *logits, const void *labels,
                                          const float *max, const float *dstats, float *dlogits,
                                          int64_t rows, int64_t classes, int64_t begin,
                                          int64_t total, int32_t *error) {
  for (int64_t e = FirstItem(); e < rows * classes; e += ItemStride()) {
    const int64_t r = e / classes, j = e % classes;
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= total) {
      if (j == 0) ReportBadIndex(error, r);
      dlogits[e] = 0.0f;
      continue;
    }
    float v = expf(logits[e] - max[r]) * dstats[2 * r];
    if (j == label - begin) v += dstats[2 * r + 1];
    dlogits[e] = v;
  }
}

template <typename Launch>
absl::Status VocabShardStatsGradRun(const Launch &launch, const float *logits, const void *labels,
                                    DType label_type, const float *max, const float *dstats,
                                    float *dlogits, int64_t rows, int64_t classes, int64_t begin,
                                    int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch(VocabShardStatsGradKernel<I>, rows * classes, logits, labels, max,
                          dstats, dlogits, rows, classes, begin, total, error));
  return absl::OkStatus();
}

}  // namespace weft::cuda::kernels

#endif

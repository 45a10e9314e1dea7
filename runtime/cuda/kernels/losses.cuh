// Embeddings and losses: Embedding(Grad), CrossEntropy(Grad) and the
// vocabulary-parallel VocabShardStats(Grad), the twins of the CPU kernels.
// Ids and labels are checked here, on the device: a bad one sets the error
// flag (ReportBadIndex: 1 + the first bad position, as the CPU kernel
// names), its outputs are zeros, and nothing is read at it.
//
// The row losses give a row of logits to a block (shuffle reductions, one
// read for max and sum with an online rescale: block_reduce.cuh).
// EmbeddingGrad sorts the tokens by table row, stably, then gives each
// (row, column) to one thread, which adds the row's dy in token order: a
// repeated id's rows are added in id order, as on the CPU (the same bits),
// with no atomics, whatever the grid.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_LOSSES_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_LOSSES_CUH

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/block_reduce.cuh"
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

// A gradient row whose label is out of [0, bound): reported (by thread 0,
// with the row's index) and zeroed by the block. Returns whether it was.
__device__ __forceinline__ bool ZeroRowOfBadLabel(int64_t label, int64_t bound, int64_t r,
                                                  float *out, int64_t classes, int32_t *error) {
  if (label >= 0 && label < bound) return false;
  if (threadIdx.x == 0) ReportBadIndex(error, r);
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) out[j] = 0.0f;
  return true;
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

// EmbeddingGrad, after zeroing the table, in two steps over scratch of 2n
// int64s (the tokens' order by row, and their rows in that order):
//  1. a thread per token i finds its rank, #{j : row_j < row_i or (row_j ==
//     row_i and j < i)}, against every row staged tile by tile in shared
//     memory, and scatters i to order[rank]; ids out of [0, total) are
//     reported, and they and other shards' rows sort last, as row `vocab`;
//  2. a thread per (sorted position, column) that starts a run of one row
//     (where the sorted row changes) adds the run's dy rows in token order
//     and writes the row's sum; rows no token hit keep their zeros.
// Dropped: the former thread-per-column kernel for tiny n; one path is
// fewer to test, and at tiny n both are a few microseconds of launches.
// The ranking is O(n^2) compares: 67M for 8192 tokens, a few microseconds on
// an H100, 4G (milliseconds) at 64K. A faster one would be a stable radix
// sort by row (cub::DeviceRadixSort) and a warp per run of a row.

/// The table row token i adds to, or `vocab` (skipped): a bad id (reported)
/// or another shard's row.
template <typename I>
__device__ __forceinline__ int64_t EmbeddingGradRow(const void *ids, int64_t i, int64_t vocab,
                                                    int64_t begin, int64_t total, int32_t *error,
                                                    bool report) {
  const int64_t id = IdAt<I>(ids, i);
  if (id < 0 || id >= total) {
    if (report) ReportBadIndex(error, i);
    return vocab;
  }
  const int64_t r = id - begin;
  return r >= 0 && r < vocab ? r : vocab;
}

/// Step 1: a thread per token, blocks striding over tiles of blockDim
/// tokens (block-uniform, so every thread reaches the barriers).
template <typename I>
__global__ void __launch_bounds__(1024)
    EmbeddingGradRankKernel(const void *ids, int64_t n, int64_t vocab, int64_t begin,
                            int64_t total, int32_t *error, int64_t *order, int64_t *order_row) {
  __shared__ int64_t tile[1024];
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x; first < n;
       first += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = first + threadIdx.x;
    const int64_t mine = i < n ? EmbeddingGradRow<I>(ids, i, vocab, begin, total, error, true) : 0;
    int64_t rank = 0;
    for (int64_t t0 = 0; t0 < n; t0 += blockDim.x) {
      if (t0 + threadIdx.x < n)
        tile[threadIdx.x] =
            EmbeddingGradRow<I>(ids, t0 + threadIdx.x, vocab, begin, total, error, false);
      __syncthreads();
      const int64_t m = n - t0 < blockDim.x ? n - t0 : blockDim.x;
      for (int64_t k = 0; k < m; ++k)
        rank += tile[k] < mine || (tile[k] == mine && t0 + k < i);
      __syncthreads();  // every thread has read the tile before the next
    }
    if (i < n) {
      order[rank] = i;
      order_row[rank] = mine;
    }
  }
}

/// Step 2: item e = (sorted position p, column c); the thread at the first
/// position of a row's run sums the run.
__global__ void EmbeddingGradSumKernel(const int64_t *order, const int64_t *order_row,
                                       const float *dy, float *dtable, int64_t vocab, int64_t d,
                                       int64_t n) {
  for (int64_t e = FirstItem(); e < n * d; e += ItemStride()) {
    const int64_t p = e / d, c = e % d, row = order_row[p];
    if (row == vocab || (p > 0 && order_row[p - 1] == row)) continue;
    float acc = 0.0f;  // as the CPU: a zeroed row, += in token order
    for (int64_t q = p; q < n && order_row[q] == row; ++q) acc += dy[order[q] * d + c];
    dtable[row * d + c] = acc;
  }
}

/// int64s of scratch EmbeddingGradRun needs.
inline int64_t EmbeddingGradScratch(int64_t n) { return 2 * (n > 0 ? n : 0); }

/// `scratch`: EmbeddingGradScratch(n) int64s.
template <typename Launch>
absl::Status EmbeddingGradRun(const Launch &launch, const void *ids, DType id_type,
                              const float *dy, float *dtable, int64_t vocab, int64_t d, int64_t n,
                              int64_t begin, int64_t total, int32_t *error, int64_t *scratch) {
  if (absl::Status s = CheckIdType(id_type, "embedding ids"); !s.ok()) return s;
  if (total <= 0) total = vocab;
  launch(ZeroFloats, vocab * d, dtable, vocab * d);
  if (n <= 0) return absl::OkStatus();
  int64_t *order = scratch, *order_row = scratch + n;
  const BlockShape shape{CappedBlocks((n + kWarpRowThreads - 1) / kWarpRowThreads), kWarpRowThreads};
  WEFT_ID_DISPATCH(id_type, I,
                   launch.Blocks(EmbeddingGradRankKernel<I>, shape, ids, n, vocab, begin, total,
                                 error, order, order_row));
  launch(EmbeddingGradSumKernel, n * d, static_cast<const int64_t *>(order),
         static_cast<const int64_t *>(order_row), dy, dtable, vocab, d, n);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- CrossEntropy
//
// The row kernels give each row to a block (BlockPerRow: 1024 threads for a
// 50257-wide row), which reads it once with coalesced loads for its max and
// sum of exponentials (BlockRowMaxSum). A label is read by every thread of
// the block, so a bad one sends the whole block down the same branch (no
// thread skips a barrier); thread 0 reports it.

/// losses[r] = logsumexp(row r) - row r's logit at its label (0 for a bad
/// label).
template <typename I>
__global__ void __launch_bounds__(1024)
    CrossEntropyRowsKernel(const float *logits, const void *labels, int64_t rows, int64_t classes,
                           double *losses, int32_t *error) {
  __shared__ float smax[32];
  __shared__ double ssum[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= classes) {
      if (threadIdx.x == 0) {
        ReportBadIndex(error, r);
        losses[r] = 0;
      }
      continue;
    }
    const float *row = logits + r * classes;
    const MaxSum ms = BlockRowMaxSum(row, classes, smax, ssum);
    if (threadIdx.x == 0) losses[r] = ms.max + log(ms.sum) - row[label];
  }
}

/// One block: the mean of the row losses (NaN for no rows, as numpy's
/// mean), summed in a fixed order.
__global__ void __launch_bounds__(1024)
    CrossEntropyMeanKernel(const double *losses, int64_t rows, float *loss) {
  __shared__ double scratch[32];
  double total = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) total += losses[r];
  total = BlockSum(total, scratch);
  if (threadIdx.x == 0 && blockIdx.x == 0)
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
                   launch.Blocks(CrossEntropyRowsKernel<I>, BlockPerRow(r, classes), logits, labels,
                                 r, classes, losses, error));
  launch.Blocks(CrossEntropyMeanKernel, BlockShape{1, 1024}, static_cast<const double *>(losses), r,
                loss);
  return absl::OkStatus();
}

/// A block per row: (softmax(row) - onehot(label)) * dloss / rows. The row's
/// max and sum are taken (and the block synchronised) before it is written,
/// and each element is then read and written by one thread, so dlogits may
/// alias logits.
template <typename I>
__global__ void __launch_bounds__(1024)
    CrossEntropyGradKernel(const float *logits, const void *labels, const float *dloss,
                           float *dlogits, int64_t rows, int64_t classes, int32_t *error) {
  __shared__ float smax[32];
  __shared__ double ssum[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *row = logits + r * classes;
    float *out = dlogits + r * classes;
    const int64_t label = IdAt<I>(labels, r);
    if (ZeroRowOfBadLabel(label, classes, r, out, classes, error)) continue;
    const float g = static_cast<float>(static_cast<double>(*dloss) / rows);
    const MaxSum ms = BlockRowMaxSum(row, classes, smax, ssum);
    const float f = g / static_cast<float>(ms.sum);
    for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
      float v = expf(row[j] - ms.max) * f;
      if (j == label) v -= g;
      out[j] = v;
    }
  }
}

template <typename Launch>
absl::Status CrossEntropyGradRun(const Launch &launch, const float *logits, const void *labels,
                                 DType label_type, const float *dloss, float *dlogits,
                                 int64_t rows, int64_t classes, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch.Blocks(CrossEntropyGradKernel<I>, BlockPerRow(rows, classes), logits,
                                 labels, dloss, dlogits, rows, classes, error));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- VocabShardStats

/// A block per row: stats[r] = (sum_j exp(logits[r, j] - max[r]), the
/// label's shifted logit if the label is in the shard, else 0).
template <typename I>
__global__ void __launch_bounds__(1024)
    VocabShardStatsKernel(const float *logits, const void *labels, const float *max, float *stats,
                          int64_t rows, int64_t classes, int64_t begin, int64_t total,
                          int32_t *error) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t label = IdAt<I>(labels, r);
    if (label < 0 || label >= total) {
      if (threadIdx.x == 0) {
        ReportBadIndex(error, r);
        stats[2 * r] = stats[2 * r + 1] = 0.0f;
      }
      continue;
    }
    const float *row = logits + r * classes;
    const float m = max[r];
    double s = 0;
    for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) s += expf(row[j] - m);
    s = BlockSum(s, scratch);
    if (threadIdx.x == 0) {
      stats[2 * r] = static_cast<float>(s);
      const int64_t j = label - begin;
      stats[2 * r + 1] = j >= 0 && j < classes ? row[j] - m : 0.0f;
    }
  }
}

template <typename Launch>
absl::Status VocabShardStatsRun(const Launch &launch, const float *logits, const void *labels,
                                DType label_type, const float *max, float *stats, int64_t rows,
                                int64_t classes, int64_t begin, int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch.Blocks(VocabShardStatsKernel<I>, BlockPerRow(rows, classes), logits,
                                 labels, max, stats, rows, classes, begin, total, error));
  return absl::OkStatus();
}

/// A block per row: dlogits[r, j] = dstats[r, 0] * exp(logits[r, j] -
/// max[r]) (+ dstats[r, 1] at the label's column). Each element is read and
/// written by one thread, so dlogits may alias logits.
template <typename I>
__global__ void __launch_bounds__(1024)
    VocabShardStatsGradKernel(const float *logits, const void *labels, const float *max,
                              const float *dstats, float *dlogits, int64_t rows, int64_t classes,
                              int64_t begin, int64_t total, int32_t *error) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *row = logits + r * classes;
    float *out = dlogits + r * classes;
    const int64_t label = IdAt<I>(labels, r);
    if (ZeroRowOfBadLabel(label, total, r, out, classes, error)) continue;
    const float m = max[r], d_sum = dstats[2 * r], d_logit = dstats[2 * r + 1];
    const int64_t at = label - begin;
    for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
      float v = expf(row[j] - m) * d_sum;
      if (j == at) v += d_logit;
      out[j] = v;
    }
  }
}

template <typename Launch>
absl::Status VocabShardStatsGradRun(const Launch &launch, const float *logits, const void *labels,
                                    DType label_type, const float *max, const float *dstats,
                                    float *dlogits, int64_t rows, int64_t classes, int64_t begin,
                                    int64_t total, int32_t *error) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels"); !s.ok()) return s;
  WEFT_ID_DISPATCH(label_type, I,
                   launch.Blocks(VocabShardStatsGradKernel<I>, BlockPerRow(rows, classes), logits,
                                 labels, max, dstats, dlogits, rows, classes, begin, total, error));
  return absl::OkStatus();
}

}  // namespace weft::cuda::kernels

#endif

// The launchers of kernels.h for embeddings and losses: each runs the host side in
// losses.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/losses.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status Embedding(const float *table, int64_t vocab, int64_t d, const void *ids, DType id_type,
                       int64_t n, float *out, int64_t begin, int64_t total, int32_t *error,
                       cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::EmbeddingRun(DeviceLaunch{stream}, table, vocab, d, ids, id_type, n, out,
                                      begin, total, error));
}

absl::Status EmbeddingGrad(const void *ids, DType id_type, const float *dy, float *dtable,
                           int64_t vocab, int64_t d, int64_t n, int64_t begin, int64_t total,
                           int32_t *error, cudaStream_t stream) {
  kernels::StreamScratch order(stream);  // the tokens sorted by table row, and their rows
  if (absl::Status s = order.Allocate(kernels::EmbeddingGradScratch(n) * sizeof(int64_t)); !s.ok())
    return s;
  WEFT_CUDA_LAUNCHED(kernels::EmbeddingGradRun(DeviceLaunch{stream}, ids, id_type, dy, dtable, vocab, d,
                                          n, begin, total, error, order.get<int64_t>()));
}

absl::Status CrossEntropy(const float *logits, const void *labels, DType label_type, int64_t rows,
                          int64_t classes, float *loss, int32_t *error, cudaStream_t stream) {
  kernels::StreamScratch losses(stream);  // one loss per row, summed in order
  if (absl::Status s = losses.Allocate((rows > 0 ? rows : 0) * sizeof(double)); !s.ok()) return s;
  WEFT_CUDA_LAUNCHED(kernels::CrossEntropyRun(DeviceLaunch{stream}, logits, labels, label_type, rows,
                                         classes, loss, error, losses.get<double>()));
}

absl::Status CrossEntropyGrad(const float *logits, const void *labels, DType label_type,
                              const float *dloss, float *dlogits, int64_t rows, int64_t classes,
                              int32_t *error, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::CrossEntropyGradRun(DeviceLaunch{stream}, logits, labels, label_type,
                                             dloss, dlogits, rows, classes, error));
}

absl::Status VocabShardStats(const float *logits, const void *labels, DType label_type,
                             const float *max, float *stats, int64_t rows, int64_t classes,
                             int64_t begin, int64_t total, int32_t *error, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::VocabShardStatsRun(DeviceLaunch{stream}, logits, labels, label_type, max,
                                            stats, rows, classes, begin, total, error));
}

absl::Status VocabShardStatsGrad(const float *logits, const void *labels, DType label_type,
                                 const float *max, const float *dstats, float *dlogits,
                                 int64_t rows, int64_t classes, int64_t begin, int64_t total,
                                 int32_t *error, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::VocabShardStatsGradRun(DeviceLaunch{stream}, logits, labels, label_type,
                                                max, dstats, dlogits, rows, classes, begin, total,
                                                error));
}

}  // namespace weft::cuda

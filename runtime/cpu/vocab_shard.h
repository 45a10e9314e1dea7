// Megatron's vocabulary-parallel cross-entropy: the kernels each rank runs on
// its shard of the logits, between the all-reduces the compiler inserts
// (weft.vocab_shard_stats; see passes/partition/VocabParallel.cpp). The
// shard holds classes [begin, begin + classes) of [0, total).
#ifndef WEFT_RUNTIME_CPU_VOCAB_SHARD_H
#define WEFT_RUNTIME_CPU_VOCAB_SHARD_H

#include <cstdint>

#include "absl/status/status.h"
#include "weft/tensor.h"

namespace weft::cpu {

/// stats[r] = (sum_j exp(logits[r, j] - max[r]), logits[r, label - begin] -
/// max[r] if the label is in the shard, else 0). A label outside [0, total)
/// is an error naming it and its row.
absl::Status VocabShardStats(const float *logits, const void *labels, DType label_type,
                             const float *max, float *stats, int64_t rows, int64_t classes,
                             int64_t begin, int64_t total);

/// dlogits[r, j] = dstats[r, 0] * exp(logits[r, j] - max[r]) + dstats[r, 1]
/// if j is the shard's column of the label.
absl::Status VocabShardStatsGrad(const float *logits, const void *labels, DType label_type,
                                 const float *max, const float *dstats, float *dlogits,
                                 int64_t rows, int64_t classes, int64_t begin, int64_t total);

}  // namespace weft::cpu

#endif

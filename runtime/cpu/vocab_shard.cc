#include "runtime/cpu/vocab_shard.h"

#include "absl/strings/str_cat.h"
#include "runtime/cpu/fastmath.h"

namespace weft::cpu {
namespace {

constexpr int64_t kParallelElements = 32 * 1024;  // as in kernels.cc

int64_t LabelAt(const void *labels, DType type, int64_t r) {
  return type == DType::kI32 ? static_cast<const int32_t *>(labels)[r]
                             : static_cast<const int64_t *>(labels)[r];
}

// Labels are i32/i64 and in [0, total); checked before anything is written.
absl::Status CheckLabels(const void *labels, DType type, int64_t rows, int64_t total) {
  if (type != DType::kI32 && type != DType::kI64)
    return absl::InvalidArgumentError(
        absl::StrCat("cross-entropy labels must be i32 or i64, not ", std::string(DTypeName(type))));
  for (int64_t r = 0; r < rows; ++r)
    if (const int64_t label = LabelAt(labels, type, r); label < 0 || label >= total)
      return absl::InvalidArgumentError(absl::StrCat("cross-entropy label ", label, " at row ", r,
                                                     " is outside [0, ", total, ")"));
  return absl::OkStatus();
}

}  // namespace

absl::Status VocabShardStats(const float *logits, const void *labels, DType label_type,
                             const float *max, float *stats, int64_t rows, int64_t classes,
                             int64_t begin, int64_t total) {
  if (absl::Status s = CheckLabels(labels, label_type, rows, total); !s.ok()) return s;
#pragma omp parallel for if (rows * classes > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = logits + r * classes;
    stats[2 * r] = ExpShifted(row, nullptr, classes, max[r]);
    const int64_t j = LabelAt(labels, label_type, r) - begin;
    stats[2 * r + 1] = j >= 0 && j < classes ? row[j] - max[r] : 0.0f;
  }
  return absl::OkStatus();
}

absl::Status VocabShardStatsGrad(const float *logits, const void *labels, DType label_type,
                                 const float *max, const float *dstats, float *dlogits,
                                 int64_t rows, int64_t classes, int64_t begin, int64_t total) {
  if (absl::Status s = CheckLabels(labels, label_type, rows, total); !s.ok()) return s;
#pragma omp parallel for if (rows * classes > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    float *out = dlogits + r * classes;
    ExpShifted(logits + r * classes, out, classes, max[r]);
    const float g = dstats[2 * r];
    for (int64_t j = 0; j < classes; ++j) out[j] *= g;
    const int64_t j = LabelAt(labels, label_type, r) - begin;
    if (j >= 0 && j < classes) out[j] += dstats[2 * r + 1];
  }
  return absl::OkStatus();
}

}  // namespace weft::cpu

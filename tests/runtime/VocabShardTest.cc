// The vocabulary-parallel cross-entropy kernels against a direct computation
// on the whole vocabulary, in double: the shards' statistics, summed as the
// all-reduce would, must give each row's log-softmax loss, and the shards'
// gradients laid side by side must be softmax - onehot (scaled as the loss's
// mean would). Three shards of 5 classes; labels land in each of them.
#include "RandomFloats.h"
#include "runtime/cpu/vocab_shard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace weft::cpu {
namespace {

constexpr int64_t kRows = 7, kShard = 5, kShards = 3, kClasses = kShard * kShards;

struct Fixture {
  std::vector<float> logits;  // [rows, classes], whole
  std::vector<int32_t> labels;
  std::vector<float> max;     // over the whole vocabulary
  Fixture() {
    std::mt19937 rng(7);
    logits = RandomFloats(kRows * kClasses, rng, 0, 3);
    for (int64_t r = 0; r < kRows; ++r) {
      labels.push_back(static_cast<int32_t>((r * 4 + 1) % kClasses));
      float m = logits[r * kClasses];
      for (int64_t j = 1; j < kClasses; ++j) m = std::max(m, logits[r * kClasses + j]);
      max.push_back(m);
    }
  }
  std::vector<float> Shard(int s) const {
    std::vector<float> out;
    for (int64_t r = 0; r < kRows; ++r)
      out.insert(out.end(), logits.begin() + r * kClasses + s * kShard,
                 logits.begin() + r * kClasses + (s + 1) * kShard);
    return out;
  }
  double Lse(int64_t r) const {
    double sum = 0;
    for (int64_t j = 0; j < kClasses; ++j) sum += std::exp(double(logits[r * kClasses + j]));
    return std::log(sum);
  }
};

TEST(VocabShard, SummedStatisticsGiveTheCrossEntropy) {
  Fixture f;
  std::vector<double> sums(2 * kRows, 0.0);
  for (int s = 0; s < kShards; ++s) {
    std::vector<float> shard = f.Shard(s), stats(2 * kRows);
    ASSERT_TRUE(VocabShardStats(shard.data(), f.labels.data(), DType::kI32, f.max.data(),
                                stats.data(), kRows, kShard, s * kShard, kClasses)
                    .ok());
    for (int64_t i = 0; i < 2 * kRows; ++i) sums[i] += stats[i];
  }
  for (int64_t r = 0; r < kRows; ++r) {
    const double want = f.Lse(r) - f.logits[r * kClasses + f.labels[r]];
    EXPECT_NEAR(std::log(sums[2 * r]) - sums[2 * r + 1], want, 1e-5) << "row " << r;
  }
}

TEST(VocabShard, GradientIsSoftmaxMinusOnehot) {
  Fixture f;
  // d/dlogits of mean over rows (log s0 - s1): dstats = (1 / (rows s0), -1 / rows).
  std::vector<float> dstats(2 * kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    double s0 = 0;
    for (int64_t j = 0; j < kClasses; ++j) s0 += std::exp(double(f.logits[r * kClasses + j]) - f.max[r]);
    dstats[2 * r] = static_cast<float>(1.0 / (kRows * s0));
    dstats[2 * r + 1] = -1.0f / kRows;
  }
  for (int s = 0; s < kShards; ++s) {
    std::vector<float> shard = f.Shard(s), grad(kRows * kShard);
    ASSERT_TRUE(VocabShardStatsGrad(shard.data(), f.labels.data(), DType::kI32, f.max.data(),
                                    dstats.data(), grad.data(), kRows, kShard, s * kShard, kClasses)
                    .ok());
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t j = 0; j < kShard; ++j) {
        const int64_t c = s * kShard + j;
        const double p = std::exp(double(f.logits[r * kClasses + c]) - f.Lse(r));
        const double want = (p - (c == f.labels[r] ? 1.0 : 0.0)) / kRows;
        EXPECT_NEAR(grad[r * kShard + j], want, 1e-6) << "row " << r << " class " << c;
      }
  }
}

TEST(VocabShard, ALabelOutsideTheWholeVocabularyIsAnError) {
  Fixture f;
  f.labels[3] = kClasses;  // in no shard
  std::vector<float> shard = f.Shard(0), stats(2 * kRows);
  absl::Status s = VocabShardStats(shard.data(), f.labels.data(), DType::kI32, f.max.data(),
                                   stats.data(), kRows, kShard, 0, kClasses);
  EXPECT_EQ(s.message(), "cross-entropy label 15 at row 3 is outside [0, 15)");
}

}  // namespace
}  // namespace weft::cpu

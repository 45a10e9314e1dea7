#include "runtime/executor/synthetic.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "runtime/executor/init.h"

namespace weft {
namespace {

bool IsInt(const TensorInfo &t) { return t.dtype == DType::kI32 || t.dtype == DType::kI64; }

void Set(Tensor &t, int64_t i, int64_t v) {
  if (t.dtype() == DType::kI32) t.data_as<int32_t>()[i] = static_cast<int32_t>(v);
  else t.data_as<int64_t>()[i] = v;
}

// The two integer inputs of a language model, or {-1, -1}.
std::pair<int, int> FindLm(const std::vector<TensorInfo> &in) {
  for (size_t a = 0; a < in.size(); ++a)
    for (size_t b = a + 1; b < in.size(); ++b)
      if (IsInt(in[a]) && IsInt(in[b]) && in[a].shape == in[b].shape && in[a].shape.size() == 2 &&
          in[a].int_bound > 1 && in[a].int_bound == in[b].int_bound)
        return {static_cast<int>(a), static_cast<int>(b)};
  return {-1, -1};
}

// A float input [B, F] and integer labels [B] with C > 1 classes, or {-1, -1}.
std::pair<int, int> FindTeacher(const std::vector<TensorInfo> &in) {
  for (size_t x = 0; x < in.size(); ++x)
    for (size_t y = 0; y < in.size(); ++y)
      if (in[x].dtype == DType::kF32 && in[x].shape.size() == 2 && IsInt(in[y]) &&
          in[y].shape.size() == 1 && in[y].shape[0] == in[x].shape[0] && in[y].int_bound > 1)
        return {static_cast<int>(x), static_cast<int>(y)};
  return {-1, -1};
}

}  // namespace

std::string SyntheticKind(const std::vector<TensorInfo> &inputs) {
  if (FindLm(inputs).first >= 0) return "lm";
  if (FindTeacher(inputs).first >= 0) return "teacher";
  return "random";
}

std::map<std::string, Tensor> SyntheticBatch(const std::vector<TensorInfo> &inputs, uint64_t seed,
                                             int64_t step) {
  std::map<std::string, Tensor> batch;
  const std::string tag = absl::StrCat(":step", step);
  for (const TensorInfo &in : inputs) {
    Tensor t(in.dtype, in.shape);
    if (IsInt(in))
      FillRandomInts(t, in.int_bound, seed, "data:" + in.name + tag);
    else
      FillRandom(t, InitDist::kNormal, 0.0f, 1.0f, seed, "data:" + in.name + tag);
    batch[in.name] = t;
  }
  if (auto [tok, lab] = FindLm(inputs); tok >= 0) {
    const int64_t vocab = inputs[tok].int_bound;
    const int64_t rows = inputs[tok].shape[0], cols = inputs[tok].shape[1];
    // The cycle: the first P tokens of a seeded permutation of the vocabulary.
    const int64_t period = std::min<int64_t>(vocab, 16);
    Tensor keys(DType::kI64, {vocab});
    FillRandomInts(keys, int64_t{1} << 40, seed, "data:cycle");
    std::vector<int64_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return keys.data_as<int64_t>()[a] < keys.data_as<int64_t>()[b];
    });
    Tensor starts(DType::kI64, {rows});
    FillRandomInts(starts, period, seed, "data:starts" + tag);
    Tensor &tokens = batch[inputs[tok].name], &labels = batch[inputs[lab].name];
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        int64_t at = starts.data_as<int64_t>()[r] + c;
        Set(tokens, r * cols + c, order[at % period]);
        Set(labels, r * cols + c, order[(at + 1) % period]);
      }
  } else if (auto [x, y] = FindTeacher(inputs); x >= 0) {
    const int64_t rows = inputs[x].shape[0], features = inputs[x].shape[1];
    const int64_t classes = inputs[y].int_bound;
    Tensor teacher(DType::kF32, {features, classes});
    FillRandom(teacher, InitDist::kNormal, 0.0f, 1.0f, seed, "data:teacher");
    const float *xs = batch[inputs[x].name].data_as<float>();
    Tensor &labels = batch[inputs[y].name];
    for (int64_t r = 0; r < rows; ++r) {
      int64_t best = 0;
      float best_score = -1e30f;
      for (int64_t c = 0; c < classes; ++c) {
        float score = 0;
        for (int64_t f = 0; f < features; ++f)
          score += xs[r * features + f] * teacher.data_as<float>()[f * classes + c];
        if (score > best_score) best_score = score, best = c;
      }
      Set(labels, r, best);
    }
  }
  return batch;
}

}  // namespace weft

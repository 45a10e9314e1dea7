// The CPU gradient kernels against an independent oracle: the forward math
// written here as naive double loops, differentiated by central differences
// and contracted with a random dy, i.e. dx_i against
//   (<dy, f(x + h e_i)> - <dy, f(x - h e_i)>) / 2h.
// Nothing here calls a kernel or a kernel helper, forward ones included.
#include "RandomFloats.h"
#include "runtime/cpu/grad_kernels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace weft::cpu {
namespace {

using Vec = std::vector<double>;


Vec ToDouble(const std::vector<float> &v) { return Vec(v.begin(), v.end()); }

double Dot(const Vec &a, const std::vector<float> &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Every coordinate of an n-vector, or `count` random ones when n is large
// (a finite difference costs a whole forward pass).
std::vector<int64_t> Coords(int64_t n, std::mt19937 &rng, int64_t count = 0) {
  std::vector<int64_t> c(n);
  std::iota(c.begin(), c.end(), 0);
  if (count > 0 && count < n) {
    std::shuffle(c.begin(), c.end(), rng);
    c.resize(count);
  }
  return c;
}

// Central differences of loss() in each of `coords` of x, which loss()
// reads; x is perturbed in place and restored.
Vec FiniteDiff(Vec &x, const std::function<double()> &loss,
               const std::vector<int64_t> &coords, double h = 1e-5) {
  Vec g;
  for (int64_t i : coords) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double up = loss();
    x[i] = x0 - h;
    const double down = loss();
    x[i] = x0;
    g.push_back((up - down) / (2 * h));
  }
  return g;
}

// |actual - expected| <= rtol * (|expected| + max|expected|) at `coords`: a
// relative tolerance with a floor scaled to the data, as numpy's allclose.
void ExpectGradClose(const std::vector<float> &actual, const Vec &expected,
                     const std::vector<int64_t> &coords, const char *what,
                     double rtol = 1e-3) {
  ASSERT_EQ(expected.size(), coords.size());
  double scale = 0;
  for (double e : expected) scale = std::max(scale, std::fabs(e));
  int bad = 0;
  for (size_t c = 0; c < coords.size() && bad < 5; ++c) {
    const double a = actual[coords[c]], e = expected[c];
    if (!(std::fabs(a - e) <= rtol * (std::fabs(e) + scale))) {
      ADD_FAILURE() << what << "[" << coords[c] << "]: got " << a << ", want " << e;
      ++bad;
    }
  }
}

// ------------------------------------------------------------ forward oracles

// Softmax over the middle dim of [outer, dim, inner].
Vec SoftmaxRef(const Vec &x, int64_t outer, int64_t dim, int64_t inner) {
  Vec y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t d) { return (o * dim + d) * inner + i; };
      double max = -INFINITY, sum = 0;
      for (int64_t d = 0; d < dim; ++d) max = std::max(max, x[at(d)]);
      for (int64_t d = 0; d < dim; ++d) sum += std::exp(x[at(d)] - max);
      for (int64_t d = 0; d < dim; ++d) y[at(d)] = std::exp(x[at(d)] - max) / sum;
    }
  return y;
}

Vec LayerNormRef(const Vec &x, const Vec &gamma, const Vec &beta, int64_t rows,
                 int64_t d, double eps) {
  Vec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mean += x[r * d + j] / d;
    for (int64_t j = 0; j < d; ++j) var += (x[r * d + j] - mean) * (x[r * d + j] - mean) / d;
    for (int64_t j = 0; j < d; ++j)
      y[r * d + j] = (x[r * d + j] - mean) / std::sqrt(var + eps) * gamma[j] + beta[j];
  }
  return y;
}

Vec RmsNormRef(const Vec &x, const Vec &gamma, int64_t rows, int64_t d, double eps) {
  Vec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t j = 0; j < d; ++j) ms += x[r * d + j] * x[r * d + j] / d;
    for (int64_t j = 0; j < d; ++j) y[r * d + j] = x[r * d + j] / std::sqrt(ms + eps) * gamma[j];
  }
  return y;
}

// softmax(q k^T * scale) v per head; with `causal` query i sees keys 0..i.
Vec AttentionRef(const Vec &q, const Vec &k, const Vec &v, int64_t heads,
                 int64_t sq, int64_t sk, int64_t dh, int64_t dv, bool causal,
                 double scale) {
  Vec out(heads * sq * dv, 0.0);
  for (int64_t hd = 0; hd < heads; ++hd)
    for (int64_t i = 0; i < sq; ++i) {
      const int64_t seen = causal ? std::min(sk, i + 1) : sk;
      Vec s(seen);
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < seen; ++j) {
        for (int64_t c = 0; c < dh; ++c)
          s[j] += q[(hd * sq + i) * dh + c] * k[(hd * sk + j) * dh + c];
        s[j] *= scale;
        max = std::max(max, s[j]);
      }
      for (int64_t j = 0; j < seen; ++j) sum += std::exp(s[j] - max);
      for (int64_t j = 0; j < seen; ++j)
        for (int64_t c = 0; c < dv; ++c)
          out[(hd * sq + i) * dv + c] +=
              std::exp(s[j] - max) / sum * v[(hd * sk + j) * dv + c];
    }
  return out;
}

// The mean over rows of logsumexp(logits[r]) - logits[r, labels[r]].
double CrossEntropyRef(const Vec &logits, const std::vector<int64_t> &labels,
                       int64_t rows, int64_t classes) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double max = -INFINITY, sum = 0;
    for (int64_t j = 0; j < classes; ++j) max = std::max(max, logits[r * classes + j]);
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(logits[r * classes + j] - max);
    total += max + std::log(sum) - logits[r * classes + labels[r]];
  }
  return total / rows;
}

// ------------------------------------------------------------ Softmax

TEST(GradKernelsTest, SoftmaxGradMatchesFiniteDifferences) {
  std::mt19937 rng(1);
  for (auto [outer, dim, inner] : std::vector<std::array<int64_t, 3>>{
           {3, 7, 1}, {2, 5, 3}, {1, 1, 1}, {4, 1, 2}, {1, 9, 4}}) {
    SCOPED_TRACE(testing::Message() << outer << "x" << dim << "x" << inner);
    const int64_t n = outer * dim * inner;
    const std::vector<float> xf = RandomFloats(n, rng, 0, 2), dy = RandomFloats(n, rng);
    Vec x = ToDouble(xf);
    const Vec yd = SoftmaxRef(x, outer, dim, inner);
    const std::vector<float> y(yd.begin(), yd.end());
    std::vector<float> dx(n, 123.0f);
    SoftmaxGrad(y.data(), dy.data(), dx.data(), outer, dim, inner);
    const auto coords = Coords(n, rng);
    ExpectGradClose(dx, FiniteDiff(x, [&] { return Dot(SoftmaxRef(x, outer, dim, inner), dy); }, coords),
                    coords, "dx");
  }
}

// ------------------------------------------------------------ Norms

// rows x d; `sample` > 0 checks that many random coordinates of each input.
void CheckLayerNorm(int64_t rows, int64_t d, int64_t sample, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "LayerNorm rows " << rows << " d " << d);
  const float eps = 1e-5f;
  const std::vector<float> xf = RandomFloats(rows * d, rng, 0.5f, 2),
                           gf = RandomFloats(d, rng, 1, 0.5f), bf = RandomFloats(d, rng),
                           dy = RandomFloats(rows * d, rng);
  std::vector<float> dx(rows * d, 123.0f), dgamma(d, 123.0f), dbeta(d, 123.0f);
  LayerNormGrad(xf.data(), gf.data(), dy.data(), dx.data(), dgamma.data(), dbeta.data(),
                rows, d, eps);
  Vec x = ToDouble(xf), g = ToDouble(gf), b = ToDouble(bf);
  auto loss = [&] { return Dot(LayerNormRef(x, g, b, rows, d, eps), dy); };
  auto cx = Coords(rows * d, rng, sample), cg = Coords(d, rng, sample), cb = Coords(d, rng, sample);
  ExpectGradClose(dx, FiniteDiff(x, loss, cx), cx, "dx");
  ExpectGradClose(dgamma, FiniteDiff(g, loss, cg), cg, "dgamma");
  ExpectGradClose(dbeta, FiniteDiff(b, loss, cb), cb, "dbeta");
}

void CheckRmsNorm(int64_t rows, int64_t d, int64_t sample, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "RmsNorm rows " << rows << " d " << d);
  const float eps = 1e-6f;
  const std::vector<float> xf = RandomFloats(rows * d, rng, 0.5f, 2),
                           gf = RandomFloats(d, rng, 1, 0.5f), dy = RandomFloats(rows * d, rng);
  std::vector<float> dx(rows * d, 123.0f), dgamma(d, 123.0f);
  RmsNormGrad(xf.data(), gf.data(), dy.data(), dx.data(), dgamma.data(), rows, d, eps);
  Vec x = ToDouble(xf), g = ToDouble(gf);
  auto loss = [&] { return Dot(RmsNormRef(x, g, rows, d, eps), dy); };
  auto cx = Coords(rows * d, rng, sample), cg = Coords(d, rng, sample);
  ExpectGradClose(dx, FiniteDiff(x, loss, cx), cx, "dx");
  ExpectGradClose(dgamma, FiniteDiff(g, loss, cg), cg, "dgamma");
}

TEST(GradKernelsTest, NormGradsMatchFiniteDifferences) {
  std::mt19937 rng(2);
  for (auto [rows, d] : std::vector<std::array<int64_t, 2>>{{5, 7}, {1, 3}, {3, 1}, {4, 16}}) {
    CheckLayerNorm(rows, d, 0, rng);
    CheckRmsNorm(rows, d, 0, rng);
  }
}

TEST(GradKernelsTest, NormGradsOverManyRowChunks) {
  // 300 x 257 is past the parallel cut-off: dgamma and dbeta are summed from
  // per-chunk partials.
  std::mt19937 rng(3);
  CheckLayerNorm(300, 257, 40, rng);
  CheckRmsNorm(300, 257, 40, rng);
}

TEST(GradKernelsTest, NormGradsOverNoRowsAreZero) {
  std::vector<float> dgamma(3, 123.0f), dbeta(3, 123.0f);
  LayerNormGrad(nullptr, nullptr, nullptr, nullptr, dgamma.data(), dbeta.data(), 0, 3, 1e-5f);
  EXPECT_EQ(dgamma, std::vector<float>(3, 0.0f));
  EXPECT_EQ(dbeta, std::vector<float>(3, 0.0f));
  dgamma.assign(3, 123.0f);
  RmsNormGrad(nullptr, nullptr, nullptr, nullptr, dgamma.data(), 0, 3, 1e-5f);
  EXPECT_EQ(dgamma, std::vector<float>(3, 0.0f));
}

// ------------------------------------------------------------ Embedding

template <typename Id>
void CheckEmbedding(int64_t vocab, int64_t d, int64_t n, int64_t sample, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "vocab " << vocab << " d " << d << " n " << n
                                  << " id bytes " << sizeof(Id));
  std::uniform_int_distribution<Id> pick(0, static_cast<Id>(vocab - 1));
  std::vector<Id> ids(n);
  for (Id &id : ids) id = pick(rng);
  ids[n - 1] = ids[0];  // a repeated id for sure
  const std::vector<float> dy = RandomFloats(n * d, rng);
  std::vector<float> dtable(vocab * d, 123.0f);
  ASSERT_TRUE(EmbeddingGrad(ids.data(), sizeof(Id) == 4 ? DType::kI32 : DType::kI64, dy.data(),
                            dtable.data(), vocab, d, n)
                  .ok());
  Vec table = ToDouble(RandomFloats(vocab * d, rng));
  auto loss = [&] {
    Vec out(n * d);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < d; ++c) out[i * d + c] = table[ids[i] * d + c];
    return Dot(out, dy);
  };
  auto coords = Coords(vocab * d, rng, sample);
  ExpectGradClose(dtable, FiniteDiff(table, loss, coords), coords, "dtable");
}

TEST(GradKernelsTest, EmbeddingGradMatchesFiniteDifferences) {
  std::mt19937 rng(4);
  CheckEmbedding<int32_t>(6, 5, 9, 0, rng);
  CheckEmbedding<int64_t>(6, 5, 9, 0, rng);
  CheckEmbedding<int32_t>(3, 1, 4, 0, rng);
  // 400 x 200 runs in parallel over column blocks.
  CheckEmbedding<int64_t>(50, 200, 400, 300, rng);
}

TEST(GradKernelsTest, EmbeddingGradNamesABadIdAndLeavesDtableAlone) {
  const std::vector<float> dy(4 * 2, 1.0f);
  std::vector<float> dtable(3 * 2, 7.0f);
  const std::vector<int32_t> negative = {0, 1, -1, 2};
  absl::Status s = EmbeddingGrad(negative.data(), DType::kI32, dy.data(), dtable.data(), 3, 2, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "embedding id -1 at position 2 is outside [0, 3)");
  const std::vector<int64_t> big = {0, 1, 2, 3};
  s = EmbeddingGrad(big.data(), DType::kI64, dy.data(), dtable.data(), 3, 2, 4);
  EXPECT_EQ(s.message(), "embedding id 3 at position 3 is outside [0, 3)");
  const std::vector<float> floats = {0, 1, 2, 0};
  s = EmbeddingGrad(floats.data(), DType::kF32, dy.data(), dtable.data(), 3, 2, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("i32 or i64"), std::string::npos) << s.message();
  EXPECT_EQ(dtable, std::vector<float>(6, 7.0f));
}

// ------------------------------------------------------------ Attention

void CheckAttention(int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t dh, int64_t dv,
                    bool causal, int64_t sample, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "b " << b << " h " << h << " sq " << sq << " sk " << sk
                                  << " dh " << dh << " dv " << dv << " causal " << causal);
  const int64_t heads = b * h;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const std::vector<float> qf = RandomFloats(heads * sq * dh, rng),
                           kf = RandomFloats(heads * sk * dh, rng),
                           vf = RandomFloats(heads * sk * dv, rng),
                           dout = RandomFloats(heads * sq * dv, rng);
  std::vector<float> dq(qf.size(), 123.0f), dk(kf.size(), 123.0f), dvv(vf.size(), 123.0f);
  AttentionGrad(qf.data(), kf.data(), vf.data(), dout.data(), dq.data(), dk.data(), dvv.data(),
                b, h, sq, sk, dh, dv, causal, scale);
  Vec q = ToDouble(qf), k = ToDouble(kf), v = ToDouble(vf);
  auto loss = [&] { return Dot(AttentionRef(q, k, v, heads, sq, sk, dh, dv, causal, scale), dout); };
  auto cq = Coords(q.size(), rng, sample), ck = Coords(k.size(), rng, sample),
       cv = Coords(v.size(), rng, sample);
  ExpectGradClose(dq, FiniteDiff(q, loss, cq), cq, "dq");
  ExpectGradClose(dk, FiniteDiff(k, loss, ck), ck, "dk");
  ExpectGradClose(dvv, FiniteDiff(v, loss, cv), cv, "dv");
}

TEST(GradKernelsTest, AttentionGradMatchesFiniteDifferences) {
  std::mt19937 rng(5);
  CheckAttention(2, 3, 3, 5, 4, 3, false, 0, rng);  // sq != sk, dv != dh
  CheckAttention(1, 2, 7, 2, 3, 5, false, 0, rng);
  CheckAttention(1, 2, 5, 5, 3, 2, true, 0, rng);
  CheckAttention(2, 1, 6, 4, 3, 3, true, 0, rng);  // causal, sq > sk
  CheckAttention(1, 1, 3, 6, 5, 1, true, 0, rng);  // causal, sq < sk: keys 3.. unseen
  CheckAttention(1, 1, 1, 1, 1, 1, false, 0, rng);
}

TEST(GradKernelsTest, AttentionGradOverQueryBlocksInParallel) {
  // 150 queries make two blocks of 128; three heads past the parallel cut-off.
  std::mt19937 rng(6);
  CheckAttention(1, 3, 150, 140, 5, 3, false, 40, rng);
  CheckAttention(1, 3, 150, 140, 5, 3, true, 40, rng);
}

TEST(GradKernelsTest, AttentionGradWithEmptyDims) {
  std::vector<float> q(2 * 3, 1.0f), k(4 * 3, 1.0f), v(4 * 2, 1.0f), dout(2 * 2, 1.0f);
  std::vector<float> dq(q.size(), 123.0f), dk(k.size(), 123.0f), dv(v.size(), 123.0f);
  // No keys: out is 0 whatever q.
  AttentionGrad(q.data(), nullptr, nullptr, dout.data(), dq.data(), nullptr, nullptr, 1, 1, 2,
                0, 3, 2, false, 1.0f);
  EXPECT_EQ(dq, std::vector<float>(6, 0.0f));
  // No queries: dk and dv are empty sums.
  AttentionGrad(nullptr, k.data(), v.data(), nullptr, nullptr, dk.data(), dv.data(), 1, 1, 0, 4,
                3, 2, true, 1.0f);
  EXPECT_EQ(dk, std::vector<float>(12, 0.0f));
  EXPECT_EQ(dv, std::vector<float>(8, 0.0f));
  // dv = 0: out is empty, so dq and dk are 0.
  dq.assign(6, 123.0f);
  dk.assign(12, 123.0f);
  AttentionGrad(q.data(), k.data(), nullptr, nullptr, dq.data(), dk.data(), nullptr, 1, 1, 2, 4,
                3, 0, false, 1.0f);
  EXPECT_EQ(dq, std::vector<float>(6, 0.0f));
  EXPECT_EQ(dk, std::vector<float>(12, 0.0f));
}

// ------------------------------------------------------------ CrossEntropy

template <typename Label>
void CheckCrossEntropy(int64_t rows, int64_t classes, float offset, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "rows " << rows << " classes " << classes << " offset "
                                  << offset << " label bytes " << sizeof(Label));
  std::uniform_int_distribution<Label> pick(0, static_cast<Label>(classes - 1));
  std::vector<Label> labels(rows);
  for (Label &l : labels) l = pick(rng);
  const std::vector<float> lf = RandomFloats(rows * classes, rng, offset, 3);
  const float dloss = 0.7f;
  std::vector<float> dlogits(lf.size(), 123.0f);
  ASSERT_TRUE(CrossEntropyGrad(lf.data(), labels.data(),
                               sizeof(Label) == 4 ? DType::kI32 : DType::kI64, &dloss,
                               dlogits.data(), rows, classes)
                  .ok());
  Vec logits = ToDouble(lf);
  const std::vector<int64_t> lab(labels.begin(), labels.end());
  auto loss = [&] { return dloss * CrossEntropyRef(logits, lab, rows, classes); };
  auto coords = Coords(logits.size(), rng);
  ExpectGradClose(dlogits, FiniteDiff(logits, loss, coords), coords, "dlogits");
}

TEST(GradKernelsTest, CrossEntropyGradMatchesFiniteDifferences) {
  std::mt19937 rng(7);
  CheckCrossEntropy<int32_t>(4, 7, 0, rng);
  CheckCrossEntropy<int64_t>(5, 3, 0, rng);
  CheckCrossEntropy<int64_t>(1, 1, 0, rng);
  // Logits near 500: exp without the max shift would overflow f32.
  CheckCrossEntropy<int32_t>(3, 6, 500, rng);
}

TEST(GradKernelsTest, CrossEntropyGradNamesABadLabel) {
  const std::vector<float> logits(3 * 4, 0.0f);
  std::vector<float> dlogits(12, 7.0f);
  const float dloss = 1;
  const std::vector<int32_t> labels = {0, 4, 1};
  absl::Status s = CrossEntropyGrad(logits.data(), labels.data(), DType::kI32, &dloss,
                                    dlogits.data(), 3, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cross-entropy label 4 at row 1 is outside [0, 4)");
  const std::vector<int64_t> negative = {0, 1, -3};
  s = CrossEntropyGrad(logits.data(), negative.data(), DType::kI64, &dloss, dlogits.data(), 3, 4);
  EXPECT_EQ(s.message(), "cross-entropy label -3 at row 2 is outside [0, 4)");
  s = CrossEntropyGrad(logits.data(), logits.data(), DType::kF32, &dloss, dlogits.data(), 3, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dlogits, std::vector<float>(12, 7.0f));
}

// ------------------------------------------------------------ Determinism

// Every kernel on shapes past its parallel cut-off, its outputs as one byte
// string.
std::string RunAll() {
  std::mt19937 rng(8);
  std::string bytes;
  auto keep = [&](const std::vector<float> &v) {
    bytes.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
  };
  {
    const int64_t outer = 64, dim = 300, inner = 3;
    auto y = RandomFloats(outer * dim * inner, rng), dy = RandomFloats(y.size(), rng);
    std::vector<float> dx(y.size());
    SoftmaxGrad(y.data(), dy.data(), dx.data(), outer, dim, inner);
    keep(dx);
    SoftmaxGrad(y.data(), dy.data(), dx.data(), outer * 3, dim, 1);
    keep(dx);
  }
  {
    const int64_t rows = 2000, d = 96;
    auto x = RandomFloats(rows * d, rng), g = RandomFloats(d, rng), dy = RandomFloats(x.size(), rng);
    std::vector<float> dx(x.size()), dgamma(d), dbeta(d);
    LayerNormGrad(x.data(), g.data(), dy.data(), dx.data(), dgamma.data(), dbeta.data(), rows, d, 1e-5f);
    keep(dx), keep(dgamma), keep(dbeta);
    RmsNormGrad(x.data(), g.data(), dy.data(), dx.data(), dgamma.data(), rows, d, 1e-5f);
    keep(dx), keep(dgamma);
  }
  {
    const int64_t vocab = 100, d = 300, n = 2000;
    std::vector<int64_t> ids(n);
    for (int64_t i = 0; i < n; ++i) ids[i] = (i * 7919) % vocab;  // every id many times
    auto dy = RandomFloats(n * d, rng);
    std::vector<float> dtable(vocab * d);
    EXPECT_TRUE(EmbeddingGrad(ids.data(), DType::kI64, dy.data(), dtable.data(), vocab, d, n).ok());
    keep(dtable);
  }
  {
    const int64_t b = 2, h = 4, sq = 200, sk = 180, dh = 16, dv = 8;
    auto q = RandomFloats(b * h * sq * dh, rng), k = RandomFloats(b * h * sk * dh, rng),
         v = RandomFloats(b * h * sk * dv, rng), dout = RandomFloats(b * h * sq * dv, rng);
    std::vector<float> dq(q.size()), dk(k.size()), dvv(v.size());
    for (bool causal : {false, true}) {
      AttentionGrad(q.data(), k.data(), v.data(), dout.data(), dq.data(), dk.data(), dvv.data(),
                    b, h, sq, sk, dh, dv, causal, 0.25f);
      keep(dq), keep(dk), keep(dvv);
    }
  }
  {
    const int64_t rows = 500, classes = 300;
    std::vector<int32_t> labels(rows);
    for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>(r % classes);
    auto logits = RandomFloats(rows * classes, rng);
    const float dloss = 1.5f;
    std::vector<float> dlogits(logits.size());
    EXPECT_TRUE(CrossEntropyGrad(logits.data(), labels.data(), DType::kI32, &dloss,
                                 dlogits.data(), rows, classes)
                    .ok());
    keep(dlogits);
  }
  return bytes;
}

TEST(GradKernelsTest, DeterministicRunToRunAndAcrossThreadCounts) {
  const std::string first = RunAll();
  EXPECT_TRUE(first == RunAll()) << "two runs differ";
  // The partitions come from the sizes, not the thread count, so other
  // thread counts give the same bytes too.
  const int threads = omp_get_max_threads();
  for (int t : {1, 3, 8}) {
    omp_set_num_threads(t);
    EXPECT_TRUE(first == RunAll()) << "differs with " << t << " threads";
  }
  omp_set_num_threads(threads);
}

}  // namespace
}  // namespace weft::cpu

// The CPU kernels against oracles written here from the definitions: naive
// loops in double (long double for casts, which holds every i64 exactly),
// the compiler's _Float16 for f16, and a table of every bf16/f16 value for
// round-to-nearest-even. Nothing here calls a kernel helper.
#include "RandomFloats.h"
#include "runtime/cpu/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace weft::cpu {
namespace {


// numpy's allclose with an absolute floor scaled to the data:
// |a - e| <= rtol * (|e| + max|e|).
void ExpectAllClose(const std::vector<float> &actual,
                    const std::vector<double> &expected, double rtol = 1e-5) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 0;
  for (double e : expected) scale = std::max(scale, std::fabs(e));
  int bad = 0;
  for (size_t i = 0; i < actual.size() && bad < 5; ++i) {
    const double tol = rtol * (std::fabs(expected[i]) + scale);
    if (!(std::fabs(actual[i] - expected[i]) <= tol)) {
      ADD_FAILURE() << "element " << i << ": got " << actual[i] << ", want "
                    << expected[i];
      ++bad;
    }
  }
}

// ------------------------------------------------------------------ Matmul

// c = op(a) op(b) in double, per batch entry.
std::vector<double> NaiveMatmul(const std::vector<float> &a,
                                const std::vector<float> &b, int64_t batch,
                                int64_t m, int64_t n, int64_t k, bool ta,
                                bool tb, bool b_batched) {
  std::vector<double> c(batch * m * n, 0.0);
  for (int64_t p = 0; p < batch; ++p) {
    const float *ap = a.data() + p * m * k;
    const float *bp = b.data() + (b_batched ? p * k * n : 0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l) {
          const double av = ta ? ap[l * m + i] : ap[i * k + l];
          const double bv = tb ? bp[j * k + l] : bp[l * n + j];
          s += av * bv;
        }
        c[(p * m + i) * n + j] = s;
      }
  }
  return c;
}

void CheckMatmul(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta,
                 bool tb, bool b_batched, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message()
               << "batch " << batch << " m " << m << " n " << n << " k " << k
               << " ta " << ta << " tb " << tb << " b_batched " << b_batched);
  const std::vector<float> a = RandomFloats(batch * m * k, rng);
  const std::vector<float> b = RandomFloats((b_batched ? batch : 1) * k * n, rng);
  std::vector<float> c(batch * m * n, 123.0f);  // must be overwritten
  Matmul(a.data(), b.data(), c.data(), batch, m, n, k, ta, tb, b_batched);
  ExpectAllClose(c, NaiveMatmul(a, b, batch, m, n, k, ta, tb, b_batched));
}

TEST(KernelsTest, MatmulAllTransposesAndSharedB) {
  std::mt19937 rng(1);
  const int64_t shapes[][4] = {{1, 1, 1, 1},  {1, 7, 5, 3},  {3, 4, 1, 9},
                               {2, 1, 6, 5},  {4, 33, 17, 65}, {5, 2, 3, 1}};
  for (const auto &s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int bb = 0; bb < 2; ++bb)
          CheckMatmul(s[0], s[1], s[2], s[3], ta, tb, bb, rng);
}

TEST(KernelsTest, MatmulLargeEnoughToSplitAcrossThreads) {
  std::mt19937 rng(2);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      CheckMatmul(1, 301, 67, 45, ta, tb, false, rng);  // split rows
      CheckMatmul(1, 5, 307, 201, ta, tb, true, rng);   // split columns
      CheckMatmul(3, 97, 41, 71, ta, tb, false, rng);   // [batch*m, k] rows
      CheckMatmul(6, 40, 41, 50, ta, tb, true, rng);    // one entry a thread
      CheckMatmul(1, 150, 150, 30, ta, tb, true, rng);  // one entry, split
    }
}

TEST(KernelsTest, MatmulWithEmptyKIsZero) {
  std::vector<float> c(6, 5.0f);
  Matmul(nullptr, nullptr, c.data(), 2, 1, 3, 0, false, false, true);
  for (float v : c) EXPECT_EQ(v, 0.0f);
}

// ------------------------------------------------------------------ Softmax

TEST(KernelsTest, SoftmaxOverTheMiddleDim) {
  std::mt19937 rng(3);
  const int64_t shapes[][3] = {{1, 1, 1},  {3, 1, 4},   {1, 7, 1},
                               {4, 33, 5}, {2, 1000, 1}, {64, 1024, 1},
                               {8, 129, 37}};
  for (const auto &s : shapes) {
    const int64_t outer = s[0], dim = s[1], inner = s[2];
    SCOPED_TRACE(testing::Message() << outer << "x" << dim << "x" << inner);
    // Large logits: a softmax that forgets to subtract the max overflows.
    const std::vector<float> x = RandomFloats(outer * dim * inner, rng, 200, 30);
    std::vector<float> y(x.size());
    Softmax(x.data(), y.data(), outer, dim, inner);
    std::vector<double> want(x.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t d) { return (o * dim + d) * inner + i; };
        double max = -INFINITY, sum = 0;
        for (int64_t d = 0; d < dim; ++d) max = std::max<double>(max, x[at(d)]);
        for (int64_t d = 0; d < dim; ++d) sum += std::exp(x[at(d)] - max);
        for (int64_t d = 0; d < dim; ++d)
          want[at(d)] = std::exp(x[at(d)] - max) / sum;
      }
    ExpectAllClose(y, want);
  }
}

// ------------------------------------------------------------------ Norms

TEST(KernelsTest, LayerNormAndRmsNorm) {
  std::mt19937 rng(4);
  const int64_t shapes[][2] = {{1, 1}, {3, 1}, {1, 7}, {5, 33}, {300, 257}};
  for (const auto &s : shapes) {
    const int64_t rows = s[0], d = s[1];
    SCOPED_TRACE(testing::Message() << rows << "x" << d);
    // An offset mean: E[x^2] - E[x]^2 would cancel badly here.
    const std::vector<float> x = RandomFloats(rows * d, rng, 100, 2);
    const std::vector<float> gamma = RandomFloats(d, rng);
    const std::vector<float> beta = RandomFloats(d, rng);
    const float eps = 1e-5f;
    std::vector<float> y(x.size()), z(x.size());
    LayerNorm(x.data(), gamma.data(), beta.data(), y.data(), rows, d, eps);
    RmsNorm(x.data(), gamma.data(), z.data(), rows, d, eps);
    std::vector<double> want_ln(x.size()), want_rms(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x.data() + r * d;
      double mean = 0, var = 0, ms = 0;
      for (int64_t j = 0; j < d; ++j) mean += xr[j];
      mean /= d;
      for (int64_t j = 0; j < d; ++j) {
        var += (xr[j] - mean) * (xr[j] - mean);
        ms += static_cast<double>(xr[j]) * xr[j];
      }
      var /= d;
      ms /= d;
      for (int64_t j = 0; j < d; ++j) {
        want_ln[r * d + j] = (xr[j] - mean) / std::sqrt(var + eps) * gamma[j] + beta[j];
        want_rms[r * d + j] = xr[j] / std::sqrt(ms + eps) * gamma[j];
      }
    }
    ExpectAllClose(y, want_ln, 2e-5);  // x - mean loses ~6e-6 at mean 100
    ExpectAllClose(z, want_rms);
  }
}

// ------------------------------------------------------------------ Embedding

TEST(KernelsTest, EmbeddingGathersRows) {
  std::mt19937 rng(5);
  const int64_t vocab = 11, d = 5;
  const std::vector<float> table = RandomFloats(vocab * d, rng);
  const std::vector<int32_t> ids32 = {3, 0, 10, 3, 7};
  const std::vector<int64_t> ids64 = {3, 0, 10, 3, 7};
  for (DType type : {DType::kI32, DType::kI64}) {
    std::vector<float> out(ids32.size() * d);
    const void *ids = type == DType::kI32 ? static_cast<const void *>(ids32.data())
                                          : static_cast<const void *>(ids64.data());
    ASSERT_TRUE(Embedding(table.data(), vocab, d, ids, type, 5, out.data()).ok());
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < d; ++j)
        EXPECT_EQ(out[i * d + j], table[ids32[i] * d + j]);
  }
  // Large enough to run in parallel.
  std::vector<int64_t> many(5000);
  for (int64_t i = 0; i < 5000; ++i) many[i] = (i * 7) % vocab;
  std::vector<float> out(many.size() * d);
  ASSERT_TRUE(Embedding(table.data(), vocab, d, many.data(), DType::kI64,
                        5000, out.data()).ok());
  for (int64_t i = 0; i < 5000; ++i)
    ASSERT_EQ(out[i * d + 4], table[many[i] * d + 4]) << i;
}

TEST(KernelsTest, EmbeddingNamesABadIdAndItsPosition) {
  std::vector<float> table(128 * 2, 1.0f), out(6 * 2, -1.0f);
  const std::vector<int32_t> ids = {0, 1, 2, 3, 4, 300};
  absl::Status s = Embedding(table.data(), 128, 2, ids.data(), DType::kI32, 6,
                             out.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "embedding id 300 at position 5 is outside [0, 128)");
  for (float v : out) EXPECT_EQ(v, -1.0f);  // nothing written
  const std::vector<int64_t> neg = {-1};
  s = Embedding(table.data(), 128, 2, neg.data(), DType::kI64, 1, out.data());
  EXPECT_EQ(s.message(), "embedding id -1 at position 0 is outside [0, 128)");
  s = Embedding(table.data(), 128, 2, table.data(), DType::kF32, 1, out.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------------------------ Attention

void CheckAttention(int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t dh,
                    int64_t dv, bool causal, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "b " << b << " h " << h << " sq " << sq
                                  << " sk " << sk << " dh " << dh << " dv "
                                  << dv << " causal " << causal);
  const std::vector<float> q = RandomFloats(b * h * sq * dh, rng);
  const std::vector<float> k = RandomFloats(b * h * sk * dh, rng);
  const std::vector<float> v = RandomFloats(b * h * sk * dv, rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  std::vector<float> out(b * h * sq * dv, 99.0f);
  Attention(q.data(), k.data(), v.data(), out.data(), b, h, sq, sk, dh, dv,
            causal, scale);
  std::vector<double> want(out.size());
  std::vector<double> p(sk);
  for (int64_t x = 0; x < b * h; ++x)
    for (int64_t i = 0; i < sq; ++i) {
      const int64_t seen = causal ? i + 1 : sk;  // keys 0..i
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < seen; ++j) {
        double s = 0;
        for (int64_t l = 0; l < dh; ++l)
          s += static_cast<double>(q[(x * sq + i) * dh + l]) * k[(x * sk + j) * dh + l];
        p[j] = s * scale;
        max = std::max(max, p[j]);
      }
      for (int64_t j = 0; j < seen; ++j) sum += (p[j] = std::exp(p[j] - max));
      for (int64_t c = 0; c < dv; ++c) {
        double o = 0;
        for (int64_t j = 0; j < seen; ++j) o += p[j] / sum * v[(x * sk + j) * dv + c];
        want[(x * sq + i) * dv + c] = o;
      }
    }
  ExpectAllClose(out, want);
}

TEST(KernelsTest, AttentionNonCausalWithSqNotSk) {
  std::mt19937 rng(6);
  CheckAttention(1, 1, 1, 1, 1, 1, false, rng);
  CheckAttention(2, 3, 5, 7, 4, 6, false, rng);
  CheckAttention(1, 2, 9, 1, 8, 3, false, rng);
  CheckAttention(2, 1, 130, 257, 16, 8, false, rng);  // 2 query blocks
}

TEST(KernelsTest, AttentionCausal) {
  std::mt19937 rng(7);
  CheckAttention(1, 1, 1, 1, 4, 4, true, rng);
  CheckAttention(1, 2, 9, 9, 8, 3, true, rng);
  CheckAttention(2, 3, 300, 300, 16, 5, true, rng);  // blocks of 128, 128, 44
}

// ------------------------------------------------------------------ CrossEntropy

TEST(KernelsTest, CrossEntropyIsTheMeanNll) {
  std::mt19937 rng(8);
  const int64_t shapes[][2] = {{1, 1}, {1, 5}, {7, 3}, {600, 101}};
  for (const auto &s : shapes) {
    const int64_t rows = s[0], classes = s[1];
    SCOPED_TRACE(testing::Message() << rows << "x" << classes);
    const std::vector<float> logits = RandomFloats(rows * classes, rng, 50, 10);
    std::vector<int32_t> l32(rows);
    std::vector<int64_t> l64(rows);
    for (int64_t r = 0; r < rows; ++r) l32[r] = l64[r] = rng() % classes;
    double want = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < classes; ++j)
        max = std::max<double>(max, logits[r * classes + j]);
      for (int64_t j = 0; j < classes; ++j)
        sum += std::exp(logits[r * classes + j] - max);
      want += max + std::log(sum) - logits[r * classes + l32[r]];
    }
    want /= rows;
    float loss32 = -1, loss64 = -1;
    ASSERT_TRUE(CrossEntropy(logits.data(), l32.data(), DType::kI32, rows,
                             classes, &loss32).ok());
    ASSERT_TRUE(CrossEntropy(logits.data(), l64.data(), DType::kI64, rows,
                             classes, &loss64).ok());
    ExpectAllClose({loss32}, {want});
    ExpectAllClose({loss64}, {want});
  }
}

TEST(KernelsTest, CrossEntropyNamesABadLabelAndItsRow) {
  std::vector<float> logits(4 * 10, 0.0f);
  float loss = 0;
  const std::vector<int64_t> labels = {1, 2, 9, 10};
  absl::Status s = CrossEntropy(logits.data(), labels.data(), DType::kI64, 4,
                                10, &loss);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cross-entropy label 10 at row 3 is outside [0, 10)");
  const std::vector<int32_t> neg = {0, -3};
  s = CrossEntropy(logits.data(), neg.data(), DType::kI32, 2, 10, &loss);
  EXPECT_EQ(s.message(), "cross-entropy label -3 at row 1 is outside [0, 10)");
}

// ------------------------------------------------------------------ Reduce

// Reduces by visiting every input index and adding it to the output index
// made of its kept coordinates.
template <typename T>
std::vector<long double> NaiveReduce(const std::vector<T> &x,
                                     const std::vector<int64_t> &shape,
                                     const std::vector<bool> &red,
                                     ReduceKind kind) {
  const size_t rank = shape.size();
  int64_t out_size = 1, count = 1;
  for (size_t d = 0; d < rank; ++d) (red[d] ? count : out_size) *= shape[d];
  std::vector<long double> y(out_size, kind == ReduceKind::kMax
                                           ? -INFINITY
                                           : static_cast<long double>(0));
  std::vector<int64_t> idx(rank, 0);
  for (size_t flat = 0; flat < x.size(); ++flat) {
    int64_t rem = flat, out = 0;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (size_t d = 0; d < rank; ++d)
      if (!red[d]) out = out * shape[d] + idx[d];
    if (kind == ReduceKind::kMax)
      y[out] = std::max<long double>(y[out], x[flat]);
    else
      y[out] += x[flat];
  }
  if (kind == ReduceKind::kMean)
    for (auto &v : y) v /= count;
  return y;
}

TEST(KernelsTest, ReduceOverEverySetOfDims) {
  std::mt19937 rng(9);
  const std::vector<std::vector<int64_t>> shapes = {
      {},        {1},        {7},       {3, 1, 4, 5, 2}, {2, 3, 1, 6},
      {2, 3, 2, 3, 2, 3},  // no size-1 dims: up to 6 alternating groups
      {64, 700}, {700, 64}};
  for (const auto &shape : shapes) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    const std::vector<float> x = RandomFloats(n, rng);
    std::vector<int32_t> xi32(n);
    std::vector<int64_t> xi64(n);
    for (int64_t i = 0; i < n; ++i) {
      xi32[i] = static_cast<int32_t>(rng() % 2001) - 1000;
      xi64[i] = static_cast<int64_t>(xi32[i]) * 5000000000LL;
    }
    for (uint32_t mask = 0; mask < (1u << shape.size()); ++mask) {
      std::vector<bool> red(shape.size());
      int64_t out_size = 1;
      for (size_t d = 0; d < shape.size(); ++d) {
        red[d] = mask >> d & 1;
        if (!red[d]) out_size *= shape[d];
      }
      for (ReduceKind kind :
           {ReduceKind::kSum, ReduceKind::kMax, ReduceKind::kMean}) {
        SCOPED_TRACE(testing::Message() << "rank " << shape.size() << " mask "
                                        << mask << " kind " << int(kind));
        std::vector<float> y(out_size);
        Reduce(x.data(), y.data(), shape, red, kind);
        const auto want = NaiveReduce(x, shape, red, kind);
        ExpectAllClose(y, std::vector<double>(want.begin(), want.end()));
        if (kind == ReduceKind::kMean) continue;
        std::vector<int32_t> y32(out_size);
        std::vector<int64_t> y64(out_size);
        ReduceInt(xi32.data(), y32.data(), DType::kI32, shape, red, kind);
        ReduceInt(xi64.data(), y64.data(), DType::kI64, shape, red, kind);
        const auto want32 = NaiveReduce(xi32, shape, red, kind);
        const auto want64 = NaiveReduce(xi64, shape, red, kind);
        for (int64_t i = 0; i < out_size; ++i) {
          ASSERT_EQ(y32[i], static_cast<int64_t>(want32[i])) << i;
          ASSERT_EQ(y64[i], static_cast<int64_t>(want64[i])) << i;
        }
      }
    }
  }
}

TEST(KernelsTest, ReduceMaxPropagatesNan) {
  const std::vector<float> x = {1, NAN, 3, 4, 5, 6};
  std::vector<float> y(2);
  Reduce(x.data(), y.data(), {2, 3}, {false, true}, ReduceKind::kMax);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 6.0f);
}

TEST(KernelsTest, ReduceOverAnEmptyDim) {
  const std::vector<int64_t> shape = {2, 0};
  std::vector<float> y(2, 7.0f);
  Reduce(nullptr, y.data(), shape, {false, true}, ReduceKind::kSum);
  EXPECT_EQ(y[0], 0.0f);
  Reduce(nullptr, y.data(), shape, {false, true}, ReduceKind::kMax);
  EXPECT_EQ(y[1], -INFINITY);
}

// ------------------------------------------------------------------ CopyStrided

struct CopyCase {
  std::vector<int64_t> shape, src_strides, dst_strides;
  int64_t src_offset, dst_offset;
};

// Bytes of src and dst must hold every element the case addresses.
void CheckCopy(const CopyCase &c, size_t es, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "shape rank " << c.shape.size() << " es "
                                  << es << " src_offset " << c.src_offset);
  auto extent = [&](const std::vector<int64_t> &strides, int64_t offset) {
    int64_t hi = offset;
    for (size_t d = 0; d < c.shape.size(); ++d)
      hi += (c.shape[d] - 1) * std::max<int64_t>(strides[d], 0);
    return hi + 1;
  };
  std::vector<unsigned char> src(extent(c.src_strides, c.src_offset) * es);
  for (auto &b : src) b = rng() & 0xff;
  std::vector<unsigned char> dst(extent(c.dst_strides, c.dst_offset) * es, 0xab);
  std::vector<unsigned char> want = dst;
  const size_t rank = c.shape.size();
  int64_t n = 1;
  for (int64_t s : c.shape) n *= s;
  std::vector<int64_t> idx(rank);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rem = flat, so = c.src_offset, dof = c.dst_offset;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      idx[d] = rem % c.shape[d];
      rem /= c.shape[d];
      so += idx[d] * c.src_strides[d];
      dof += idx[d] * c.dst_strides[d];
    }
    for (size_t byte = 0; byte < es; ++byte)
      want[dof * es + byte] = src[so * es + byte];
  }
  CopyStrided(src.data(), c.src_offset, c.src_strides, dst.data(),
              c.dst_offset, c.dst_strides, c.shape, es);
  ASSERT_EQ(dst, want);
}

TEST(KernelsTest, CopyStridedLayouts) {
  std::mt19937 rng(10);
  const std::vector<CopyCase> cases = {
      {{}, {}, {}, 3, 1},                                      // a scalar
      {{5}, {1}, {1}, 0, 0},                                   // contiguous
      {{2, 3, 4}, {12, 4, 1}, {1, 2, 6}, 0, 0},                // transpose
      {{2, 3, 4}, {1, 8, 2}, {12, 4, 1}, 0, 0},                // permuted src
      {{3, 4}, {10, 2}, {4, 1}, 5, 0},                         // strided slice
      {{2, 3}, {3, 1}, {7, 1}, 0, 4},                          // concat into
      {{4, 5}, {0, 1}, {5, 1}, 2, 0},                          // broadcast rows
      {{4, 5}, {1, 0}, {5, 1}, 0, 0},                          // broadcast inner
      {{3, 2, 6}, {0, 0, 0}, {12, 6, 1}, 1, 0},                // fill
      {{3, 1, 4, 1}, {4, 99, 1, -7}, {1, 5, 3, 0}, 0, 0},      // size-1 dims
      {{6}, {-1}, {1}, 5, 0},                                  // reversed
      {{512, 300}, {1, 512}, {300, 1}, 0, 0},                  // big transpose
      {{3, 200, 70}, {0, 70, 1}, {14000, 70, 1}, 0, 0},        // big broadcast
      {{100, 9, 100}, {1, 0, 100}, {900, 100, 1}, 0, 0},       // big, bcast mid
  };
  for (const CopyCase &c : cases)
    for (size_t es : {1, 2, 3, 4, 8, 12}) CheckCopy(c, es, rng);
}

// ------------------------------------------------------------------ Casts

// Every finite non-negative value of a 16-bit float format, by bits, decoded
// from the fields (bits = 10 for f16, 7 for bf16 mantissa width).
struct HalfFormat {
  int mant_bits, exp_bits;
  uint16_t inf() const { return static_cast<uint16_t>(((1 << exp_bits) - 1) << mant_bits); }
  long double Decode(uint16_t b) const {
    const int bias = (1 << (exp_bits - 1)) - 1;
    const int e = (b >> mant_bits) & ((1 << exp_bits) - 1);
    const int m = b & ((1 << mant_bits) - 1);
    const long double mag =
        e == 0 ? std::ldexp(static_cast<long double>(m), 1 - bias - mant_bits)
               : std::ldexp(static_cast<long double>((1 << mant_bits) + m),
                            e - bias - mant_bits);
    return (b & 0x8000) ? -mag : mag;
  }
  // x rounded to nearest, ties to even bits; past the top it rounds as if
  // the next power of two (bits = inf, even) existed.
  uint16_t Round(long double x) const {
    const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    x = std::fabs(x);
    const uint16_t max_finite = inf() - 1;
    if (x >= Decode(max_finite)) {
      const long double next = std::ldexp(Decode(max_finite - (1 << mant_bits) + 1), 1);
      const long double lo = Decode(max_finite);
      // max_finite's bits are odd, so a tie goes to inf.
      return sign | (x - lo < next - x ? max_finite : inf());
    }
    uint16_t lo = 0, hi = max_finite;  // largest bits with value <= x
    while (lo < hi) {
      const uint16_t mid = static_cast<uint16_t>((lo + hi + 1) / 2);
      if (Decode(mid) <= x) lo = mid; else hi = mid - 1;
    }
    const long double dl = x - Decode(lo), dh = Decode(lo + 1) - x;
    const uint16_t r = dl < dh ? lo : dh < dl ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
    return sign | r;
  }
};
constexpr HalfFormat kF16{10, 5}, kBf16{7, 8};

TEST(KernelsTest, HalfConversionsExhaustively) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const uint16_t h = static_cast<uint16_t>(b);
    _Float16 f16;
    std::memcpy(&f16, &h, 2);
    const float via_compiler = static_cast<float>(f16);
    const float f = F16ToF32(h), g = Bf16ToF32(h);
    if (std::isnan(via_compiler)) {
      EXPECT_TRUE(std::isnan(f)) << b;
    } else {
      ASSERT_EQ(f, via_compiler) << b;
      if (!std::isinf(f)) ASSERT_EQ(f, static_cast<float>(kF16.Decode(h))) << b;
    }
    if ((h & 0x7fff) > 0x7f80)
      EXPECT_TRUE(std::isnan(g)) << b;
    else if ((h & 0x7fff) == 0x7f80)
      EXPECT_TRUE(std::isinf(g)) << b;
    else
      ASSERT_EQ(g, static_cast<float>(kBf16.Decode(h))) << b;
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    // Random bits cover every exponent, subnormals included.
    const uint32_t bits = static_cast<uint32_t>(rng());
    float x;
    std::memcpy(&x, &bits, 4);
    const uint16_t h = F32ToF16(x), bf = F32ToBf16(x);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(F16ToF32(h))) << bits;
      EXPECT_TRUE(std::isnan(Bf16ToF32(bf))) << bits;
      continue;
    }
    const _Float16 c = static_cast<_Float16>(x);
    uint16_t cb;
    std::memcpy(&cb, &c, 2);
    ASSERT_EQ(h, cb) << std::hexfloat << x;
    ASSERT_EQ(h, kF16.Round(x)) << std::hexfloat << x;
    ASSERT_EQ(bf, kBf16.Round(x)) << std::hexfloat << x;
  }
}

TEST(KernelsTest, HalfRoundingCases) {
  // bf16 keeps 8 significant bits: 1 + 2^-8 is half way to 1 + 2^-7.
  EXPECT_EQ(F32ToBf16(1.00390625f), 0x3f80);               // tie, to even
  EXPECT_EQ(F32ToBf16(std::nextafter(1.00390625f, 2.0f)), 0x3f81);
  EXPECT_EQ(F32ToBf16(1.01171875f), 0x3f82);               // tie, up to even
  EXPECT_EQ(F32ToBf16(INFINITY), 0x7f80);
  EXPECT_EQ(F32ToBf16(-INFINITY), 0xff80);
  EXPECT_EQ(F32ToBf16(3.4028235e38f), 0x7f80);             // rounds to inf
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(NAN))));
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3c00);            // tie, to even
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);
  EXPECT_EQ(F32ToF16(-65520.0f), 0xfc00);
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);                   // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);                   // tie, to even 0
  EXPECT_EQ(F32ToF16(0x3p-25f), 0x0002);                   // tie, to even 2
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(NAN))));
}

// The exact value of element i of a typed array.
long double ValueAt(const void *p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float *>(p)[i];
    case DType::kBF16: return kBf16.Decode(static_cast<const uint16_t *>(p)[i]);
    case DType::kF16: return kF16.Decode(static_cast<const uint16_t *>(p)[i]);
    case DType::kI32: return static_cast<const int32_t *>(p)[i];
    case DType::kI64: return static_cast<const int64_t *>(p)[i];
  }
  return 0;
}

bool IsNanAt(const void *p, DType t, int64_t i) {
  const uint16_t *h = static_cast<const uint16_t *>(p);
  switch (t) {
    case DType::kF32: return std::isnan(static_cast<const float *>(p)[i]);
    case DType::kBF16: return (h[i] & 0x7fff) > 0x7f80;
    case DType::kF16: return (h[i] & 0x7fff) > 0x7c00;
    default: return false;
  }
}

bool IsInfAt(const void *p, DType t, int64_t i) {
  const uint16_t *h = static_cast<const uint16_t *>(p);
  switch (t) {
    case DType::kF32: return std::isinf(static_cast<const float *>(p)[i]);
    case DType::kBF16: return (h[i] & 0x7fff) == 0x7f80;
    case DType::kF16: return (h[i] & 0x7fff) == 0x7c00;
    default: return false;
  }
}

// A float to an integer type as numpy's astype does on x86: truncation, and
// the type's minimum for NaN, infinities and anything out of range.
template <typename I>
I TruncOrMin(long double x, bool nan_or_inf) {
  const long double t = std::trunc(x);
  if (nan_or_inf || t < std::numeric_limits<I>::min() ||
      t > std::numeric_limits<I>::max())
    return std::numeric_limits<I>::min();
  return static_cast<I>(t);
}

TEST(KernelsTest, CastEveryPair) {
  const DType types[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kI32,
                         DType::kI64};
  std::mt19937 rng(12);
  // Sources: interesting values plus random ones; 16-bit floats get every
  // bit pattern.
  std::vector<float> f32 = {0.0f, -0.0f, 1.0f, -1.0f, 1.5f, -1.5f, 2.5f,
                            -2.7f, 0.999f, 1e-3f, 65504.0f, 65519.0f, 65520.0f,
                            1e5f, 3e9f, -3e9f, 2147483520.0f, -2147483648.0f,
                            2147483648.0f, 1e19f, -9.2233720e18f, 1e30f,
                            INFINITY, -INFINITY, NAN, 1e-40f, 0x1p-25f,
                            0x3p-25f, 1.00390625f, 1.01171875f, 3.4028235e38f};
  for (float x : RandomFloats(2000, rng, 0, 1000)) f32.push_back(x);
  std::vector<uint16_t> halves(0x10000);
  for (uint32_t b = 0; b < 0x10000; ++b) halves[b] = static_cast<uint16_t>(b);
  std::vector<int64_t> i64 = {0, 1, -1, 7, (1 << 24) + 1, (1 << 25) + (1 << 17) + 1,
                              65519, 65520, -65520, 2147483647LL,
                              -2147483648LL, 2147483648LL, -2147483649LL,
                              (1LL << 62) + (1LL << 38) + 1,
                              std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max(),
                              (1LL << 40) + 123};
  for (int i = 0; i < 2000; ++i)
    i64.push_back(static_cast<int64_t>(rng()) << (rng() % 33) ^
                  -static_cast<int64_t>(rng() % 2));
  std::vector<int32_t> i32(i64.size());
  for (size_t i = 0; i < i64.size(); ++i) i32[i] = static_cast<int32_t>(i64[i]);

  for (DType from : types)
    for (DType to : types) {
      SCOPED_TRACE(testing::Message() << DTypeName(from) << " -> " << DTypeName(to));
      const void *src;
      int64_t n;
      switch (from) {
        case DType::kF32: src = f32.data(); n = f32.size(); break;
        case DType::kBF16:
        case DType::kF16: src = halves.data(); n = halves.size(); break;
        case DType::kI32: src = i32.data(); n = i32.size(); break;
        default: src = i64.data(); n = i64.size(); break;
      }
      std::vector<unsigned char> dst(n * DTypeSize(to));
      Cast(src, from, dst.data(), to, n);
      for (int64_t i = 0; i < n; ++i) {
        const bool nan = IsNanAt(src, from, i), inf = IsInfAt(src, from, i);
        const long double x = nan ? 0 : ValueAt(src, from, i);
        const long double signed_inf = x < 0 ? -INFINITY : INFINITY;
        switch (to) {
          case DType::kF32: {
            const float got = reinterpret_cast<const float *>(dst.data())[i];
            if (nan) { ASSERT_TRUE(std::isnan(got)) << i; break; }
            // long double -> float is one correct rounding; x is exact.
            const float want = inf ? static_cast<float>(signed_inf) : static_cast<float>(x);
            ASSERT_EQ(got, want) << i;
            ASSERT_EQ(std::signbit(got), std::signbit(want)) << i;
            break;
          }
          case DType::kBF16:
          case DType::kF16: {
            const HalfFormat &fmt = to == DType::kF16 ? kF16 : kBf16;
            const uint16_t got = reinterpret_cast<const uint16_t *>(dst.data())[i];
            if (nan) { ASSERT_TRUE(IsNanAt(&got, to, 0)) << i; break; }
            const uint16_t want = inf ? (x < 0 ? 0x8000 | fmt.inf() : fmt.inf())
                                      : fmt.Round(x);
            ASSERT_EQ(got, want) << i << " " << static_cast<double>(x);
            break;
          }
          case DType::kI32:
          case DType::kI64: {
            const bool from_int = from == DType::kI32 || from == DType::kI64;
            const int64_t got = to == DType::kI32
                                    ? reinterpret_cast<const int32_t *>(dst.data())[i]
                                    : reinterpret_cast<const int64_t *>(dst.data())[i];
            int64_t want;
            if (from_int) {
              const int64_t v = static_cast<int64_t>(x);
              // i64 -> i32 keeps the low 32 bits.
              want = to == DType::kI32
                         ? static_cast<int32_t>(static_cast<uint32_t>(v & 0xffffffff))
                         : v;
            } else {
              want = to == DType::kI32 ? TruncOrMin<int32_t>(x, nan || inf)
                                       : TruncOrMin<int64_t>(x, nan || inf);
            }
            ASSERT_EQ(got, want) << i << " " << static_cast<double>(x);
            break;
          }
        }
      }
    }
}

TEST(KernelsTest, CastRoundsIntegersOnce) {
  // Through f32, 2^25 + 2^17 + 1 would become 2^25 + 2^17 (a bf16 tie) and
  // then 2^25; rounded once it is 2^25 + 2^18.
  const int64_t v = (1 << 25) + (1 << 17) + 1;
  uint16_t bf = 0;
  Cast(&v, DType::kI64, &bf, DType::kBF16, 1);
  EXPECT_EQ(bf, 0x4c01);
  // numpy: np.int64(2**62 + 2**38 + 1).astype(np.float32).view(np.uint32)
  const int64_t big = (1LL << 62) + (1LL << 38) + 1;
  float f = 0;
  Cast(&big, DType::kI64, &f, DType::kF32, 1);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  EXPECT_EQ(bits, 1585446913u);
  // numpy: np.float32([1e10, nan, -2.7]).astype(np.int32)
  const float fs[] = {1e10f, NAN, -2.7f};
  int32_t is[3];
  Cast(fs, DType::kF32, is, DType::kI32, 3);
  EXPECT_EQ(is[0], -2147483648);
  EXPECT_EQ(is[1], -2147483648);
  EXPECT_EQ(is[2], -2);
}

TEST(KernelsTest, CastLargeArrayInParallel) {
  std::mt19937 rng(13);
  const std::vector<float> x = RandomFloats(300000, rng, 0, 100);
  std::vector<uint16_t> h(x.size());
  Cast(x.data(), DType::kF32, h.data(), DType::kF16, x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const _Float16 c = static_cast<_Float16>(x[i]);
    uint16_t cb;
    std::memcpy(&cb, &c, 2);
    ASSERT_EQ(h[i], cb) << i;
  }
}

}  // namespace
}  // namespace weft::cpu

// The --precision=bf16 kernels (runtime/cpu/bf16_inputs.h) against an oracle
// written here: bf16 rounding computed in double from the definition (the
// value's binade gives the spacing of 8 significant bits; std::nearbyint
// rounds halves to even), then naive matmul loops in double. Nothing here
// calls the runtime's F32ToBf16.
#include "RandomFloats.h"
#include "runtime/cpu/bf16_inputs.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace weft::cpu {
namespace {

// x rounded to the nearest bf16 (8 significant bits, exponent as f32's),
// ties to even; computed in double, where every step is exact.
float OracleBf16(float x) {
  if (std::isnan(x) || std::isinf(x) || x == 0) return x;
  int e;
  std::frexp(static_cast<double>(x), &e);  // |x| = m * 2^e, m in [0.5, 1)
  // 8 significant bits: the spacing is 2^(e - 8), but never below bf16's
  // subnormal spacing 2^-133 (f32's minimum exponent, 7 stored bits).
  const double spacing = std::ldexp(1.0, std::max(e - 8, -133));
  const double rounded = std::nearbyint(x / spacing) * spacing;  // FE_TONEAREST: ties to even
  // Past bf16's largest finite value (the f32 range) the result is inf.
  return static_cast<float>(rounded);
}

std::vector<float> OracleBf16(const std::vector<float> &v) {
  std::vector<float> out;
  for (float x : v) out.push_back(OracleBf16(x));
  return out;
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Bf16Inputs, RoundingMatchesTheDefinition) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  // Exact ties go to the even neighbour, up or down; one bit past a tie
  // goes up; values the rounding carries into the next binade, to inf, and
  // subnormals.
  struct Case {
    float in, want;
  } cases[] = {
      {1.0f + 0x1p-8f, 1.0f},                         // tie, the even one below
      {1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f},           // tie, the even one above
      {-(1.0f + 0x1p-8f), -1.0f},                     // ties are symmetric
      {1.0f + 0x1p-8f + 0x1p-23f, 1.0f + 0x1p-7f},    // past the tie: up
      {1.0f + 0x1p-8f - 0x1p-23f, 1.0f},              // short of it: down
      {2.0f - 0x1p-23f, 2.0f},                        // carries into the next binade
      {FromBits(0x7f7fffff), std::numeric_limits<float>::infinity()},  // f32 max: inf
      {FromBits(0x00008000), FromBits(0x00000000)},   // subnormal tie: even (zero)
      {FromBits(0x00018000), FromBits(0x00020000)},   // subnormal tie: even (up)
  };
  for (const Case &c : cases) {
    float got;
    RoundToBf16(&c.in, &got, 1);
    EXPECT_EQ(got, c.want) << "input " << c.in;
    EXPECT_EQ(OracleBf16(c.in), c.want) << "the oracle, input " << c.in;
  }
  // Every exponent, random mantissas (and the tie patterns), both signs.
  std::mt19937 rng(7);
  std::vector<float> in;
  for (uint32_t exp = 0; exp < 255; ++exp)
    for (uint32_t low : {0x0000u, 0x8000u, 0x7fffu, 0x8001u, 0xffffu})
      for (int r = 0; r < 4; ++r) {
        const uint32_t mant = (rng() & 0x7f0000u) | low;
        in.push_back(FromBits(exp << 23 | mant));
        in.push_back(FromBits(0x80000000u | exp << 23 | mant));
      }
  std::vector<float> got(in.size());
  RoundToBf16(in.data(), got.data(), static_cast<int64_t>(in.size()));
  int bad = 0;
  for (size_t i = 0; i < in.size() && bad < 5; ++i) {
    const float want = OracleBf16(in[i]);
    if (std::memcmp(&got[i], &want, 4) != 0) {  // bitwise: the sign of zero too
      ADD_FAILURE() << "input " << in[i] << ": got " << got[i] << ", want " << want;
      ++bad;
    }
  }
  // NaN stays NaN; infinities stay.
  const float special[] = {std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  float out[3];
  RoundToBf16(special, out, 3);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], special[1]);
  EXPECT_EQ(out[2], special[2]);
}

// c[i] = sum_k ra[i, k] rb[k, j] in double over bf16-rounded operands, with
// a stored [k, m] when ta and b stored [n, k] when tb.
std::vector<double> OracleMatmul(const std::vector<float> &a, const std::vector<float> &b,
                                 int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                                 bool b_batched) {
  const std::vector<float> ra = OracleBf16(a), rb = OracleBf16(b);
  std::vector<double> c(batch * m * n);
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l) {
          const double x = ra[p * m * k + (ta ? l * m + i : i * k + l)];
          const double y = rb[(b_batched ? p * k * n : 0) + (tb ? j * k + l : l * n + j)];
          s += x * y;
        }
        c[p * m * n + i * n + j] = s;
      }
  return c;
}

// max |got - want| / max |want|.
double MaxRelError(const std::vector<float> &got, const std::vector<double> &want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return err / scale;
}

TEST(Bf16Inputs, MatmulEveryLayout) {
  std::mt19937 rng(11);
  const int64_t batch = 3, m = 5, n = 7, k = 67;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool b_batched : {false, true}) {
        SCOPED_TRACE(testing::Message() << "ta " << ta << " tb " << tb << " b_batched " << b_batched);
        const std::vector<float> a = RandomFloats(batch * m * k, rng),
                                 b = RandomFloats((b_batched ? batch : 1) * k * n, rng);
        std::vector<float> c(batch * m * n), c32(batch * m * n);
        MatmulBf16Inputs(a.data(), b.data(), c.data(), batch, m, n, k, ta, tb, b_batched);
        const std::vector<double> want = OracleMatmul(a, b, batch, m, n, k, ta, tb, b_batched);
        // Products of bf16 values are exact in f32: only the f32 sums differ.
        EXPECT_LT(MaxRelError(c, want), 1e-6);
        // The f32 kernel on the same inputs is about 2^-9 away: the check
        // above sees the rounding.
        Matmul(a.data(), b.data(), c32.data(), batch, m, n, k, ta, tb, b_batched);
        EXPECT_GT(MaxRelError(c32, want), 1e-4);
      }
}

TEST(Bf16Inputs, MatmulRoundsTiesToEven) {
  // [1, 4] x [4, 1] with one tie per term: each product is exact, so the
  // sum says which way every tie went.
  const float a[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -(1.0f + 0x1p-8f), 2.0f + 0x1p-7f};
  const float b[] = {1.0f, 1.0f, 1.0f, 1.0f};
  float c = 0;
  MatmulBf16Inputs(a, b, &c, 1, 1, 1, 4, false, false, false);
  // 1 + (1 + 2^-6) - 1 + 2 (2 + 2^-7 is a tie between 2 and 2 + 2^-6)
  EXPECT_EQ(c, 3.0f + 0x1p-6f);
  float c32 = 0;
  Matmul(a, b, &c32, 1, 1, 1, 4, false, false, false);
  EXPECT_NE(c32, c);
}

TEST(Bf16Inputs, MatmulLargeUsesTheBlasPaths) {
  // Large enough for the parallel and per-entry GEMM paths of cpu::Matmul.
  std::mt19937 rng(5);
  const int64_t batch = 8, m = 64, n = 96, k = 128;
  for (bool b_batched : {false, true}) {
    const std::vector<float> a = RandomFloats(batch * m * k, rng),
                             b = RandomFloats((b_batched ? batch : 1) * k * n, rng);
    std::vector<float> c(batch * m * n);
    MatmulBf16Inputs(a.data(), b.data(), c.data(), batch, m, n, k, false, true, b_batched);
    EXPECT_LT(MaxRelError(c, OracleMatmul(a, b, batch, m, n, k, false, true, b_batched)), 1e-6);
  }
}

TEST(Bf16Inputs, AttentionIsTheF32KernelOnRoundedInputs) {
  // Inside attention everything stays f32: the bf16 kernel is the f32 one
  // on q, k, v (and dout) rounded by the oracle, bit for bit.
  std::mt19937 rng(3);
  const int64_t b = 2, h = 2, sq = 9, sk = 9, dh = 8, dv = 8;
  const float scale = 0.35f;
  const auto q = RandomFloats(b * h * sq * dh, rng), k = RandomFloats(b * h * sk * dh, rng),
             v = RandomFloats(b * h * sk * dv, rng), dout = RandomFloats(b * h * sq * dv, rng);
  const auto rq = OracleBf16(q), rk = OracleBf16(k), rv = OracleBf16(v), rdout = OracleBf16(dout);
  for (bool causal : {false, true}) {
    std::vector<float> got(b * h * sq * dv), want(got.size()), f32(got.size());
    AttentionBf16Inputs(q.data(), k.data(), v.data(), got.data(), b, h, sq, sk, dh, dv, causal,
                        scale);
    Attention(rq.data(), rk.data(), rv.data(), want.data(), b, h, sq, sk, dh, dv, causal, scale);
    Attention(q.data(), k.data(), v.data(), f32.data(), b, h, sq, sk, dh, dv, causal, scale);
    EXPECT_EQ(got, want);
    EXPECT_NE(got, f32);

    std::vector<float> dq(q.size()), dk(k.size()), dvv(v.size());
    std::vector<float> wq(q.size()), wk(k.size()), wv(v.size());
    AttentionGradBf16Inputs(q.data(), k.data(), v.data(), dout.data(), dq.data(), dk.data(),
                            dvv.data(), b, h, sq, sk, dh, dv, causal, scale);
    AttentionGrad(rq.data(), rk.data(), rv.data(), rdout.data(), wq.data(), wk.data(), wv.data(),
                  b, h, sq, sk, dh, dv, causal, scale);
    EXPECT_EQ(dq, wq);
    EXPECT_EQ(dk, wk);
    EXPECT_EQ(dvv, wv);
  }
}

}  // namespace
}  // namespace weft::cpu

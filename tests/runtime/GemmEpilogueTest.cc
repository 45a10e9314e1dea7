// A Matmul's epilogue on the CPU backend (runtime/cpu/gemm_epilogue.h)
// against formulas written out here in double: bias, bias + residual,
// tanh-GELU of product + bias (with and without keeping product + bias) and
// the tanh-GELU gradient. Shapes cross the fused kernel's 256-wide tiles.
#include "runtime/cpu/gemm_epilogue.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "RandomFloats.h"

namespace weft::cpu {
namespace {

using artifact::GemmEpilogue;

double GeluTanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
// d/dx of GeluTanh, by the product rule.
double GeluTanhGrad(double x) {
  const double u = std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
  const double du = std::sqrt(2 / M_PI) * (1 + 3 * 0.044715 * x * x);
  const double t = std::tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
}

class CpuGemmEpilogue : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(CpuGemmEpilogue, MatchesTheFormulas) {
  const auto [rows, n] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(rows * 1000 + n));
  const std::vector<float> product = RandomFloats(rows * n, rng, 0, 2);
  const std::vector<float> bias = RandomFloats(n, rng), extra = RandomFloats(rows * n, rng, 0, 2);
  auto expect_near = [&](const std::vector<float> &got, auto want, const char *what) {
    for (int64_t i = 0; i < rows * n; ++i) {
      const double w = want(i / n, i % n, i);
      // FastTanh's 3e-7 absolute error, times up to |x dy| in the gradient.
      ASSERT_NEAR(got[i], w, 1e-5 * std::abs(w) + 1e-6 * (2 + std::abs(extra[i] * product[i])))
          << what << " at " << i;
    }
  };
  auto run = [&](GemmEpilogue kind, std::vector<float> *pre_out) {
    std::vector<float> out = product;
    ApplyGemmEpilogue(kind, out.data(), bias.data(), extra.data(),
                      pre_out ? pre_out->data() : nullptr, rows, n);
    return out;
  };
  auto pre = [&](int64_t, int64_t c, int64_t i) { return double(product[i]) + bias[c]; };

  expect_near(run(GemmEpilogue::kNone, nullptr), [&](int64_t, int64_t, int64_t i) { return product[i]; },
              "none");
  expect_near(run(GemmEpilogue::kBias, nullptr), pre, "bias");
  expect_near(run(GemmEpilogue::kBiasResidual, nullptr),
              [&](int64_t r, int64_t c, int64_t i) { return pre(r, c, i) + extra[i]; },
              "bias+residual");
  expect_near(run(GemmEpilogue::kBiasGeluTanh, nullptr),
              [&](int64_t r, int64_t c, int64_t i) { return GeluTanh(pre(r, c, i)); },
              "bias+gelu_tanh");
  std::vector<float> kept(rows * n, NAN);
  expect_near(run(GemmEpilogue::kBiasGeluTanh, &kept),
              [&](int64_t r, int64_t c, int64_t i) { return GeluTanh(pre(r, c, i)); },
              "bias+gelu_tanh (kept)");
  expect_near(kept, pre, "bias+gelu_tanh's product + bias");
  expect_near(run(GemmEpilogue::kDGeluTanh, nullptr),
              [&](int64_t, int64_t, int64_t i) { return product[i] * GeluTanhGrad(extra[i]); },
              "dgelu_tanh");
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuGemmEpilogue,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1},
                                           std::pair<int64_t, int64_t>{5, 13},
                                           std::pair<int64_t, int64_t>{3, 300},
                                           std::pair<int64_t, int64_t>{64, 257}));

}  // namespace
}  // namespace weft::cpu

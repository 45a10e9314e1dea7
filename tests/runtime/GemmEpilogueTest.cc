// A Matmul's epilogue on the CPU backend (runtime/cpu/gemm_epilogue.h)
// against formulas written out here in double: bias, bias + residual,
// tanh-GELU of product + bias (with and without keeping product + bias) and
// the tanh-GELU gradient. Shapes cross the fused kernel's 256-wide tiles.
#include "runtime/cpu/gemm_epilogue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <random>
#include <vector>

#include "RandomFloats.h"
#include "runtime/artifact/artifact_generated.h"
#include "runtime/artifact/format.h"
#include "weft/runtime.h"

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
  auto dgelu = [&](int64_t, int64_t, int64_t i) { return product[i] * GeluTanhGrad(extra[i]); };
  expect_near(run(GemmEpilogue::kDGeluTanh, nullptr), dgelu, "dgelu_tanh");
  // ... and its row sum, the bias gradient [n].
  std::vector<float> bias_grad(n, NAN);
  expect_near(run(GemmEpilogue::kDGeluTanhBGrad, &bias_grad), dgelu, "dgelu_tanh+bgrad");
  for (int64_t c = 0; c < n; ++c) {
    double want = 0, scale = 0;
    for (int64_t r = 0; r < rows; ++r) {
      want += dgelu(r, c, r * n + c);
      scale += std::abs(dgelu(r, c, r * n + c));
    }
    ASSERT_NEAR(bias_grad[c], want, 1e-5 * scale + 1e-6 * rows * (2 + 4 * 4)) << "bias gradient " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuGemmEpilogue,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1},
                                           std::pair<int64_t, int64_t>{5, 13},
                                           std::pair<int64_t, int64_t>{3, 300},
                                           std::pair<int64_t, int64_t>{64, 257}));

}  // namespace
}  // namespace weft::cpu

// The artifact contract (artifact.fbs, Matmul's 9th int): a hand-written
// one-matmul artifact y = x w + b with the epilogue folded runs to the
// numbers worked out by hand, and inconsistent ones are refused on load,
// naming the problem.
namespace weft {
namespace {

namespace fbs = flatbuffers;

// y [1, 2] = x [1, 2] x w [2, 2] (+ b [2]) with `ints` and `operands`.
std::string OneMatmul(std::vector<int64_t> ints, std::vector<uint32_t> operands) {
  fbs::FlatBufferBuilder fbb;
  auto spec = [&](const char *name, std::vector<int64_t> shape) {
    return fb::CreateTensorSpecDirect(fbb, name, fb::DType::F32, &shape);
  };
  std::vector<fbs::Offset<fb::InputSpec>> inputs = {fb::CreateInputSpec(fbb, spec("x", {1, 2}))};
  std::vector<fbs::Offset<fb::ParamSpec>> params = {
      fb::CreateParamSpec(fbb, spec("w", {2, 2}), fb::CreateInitSpec(fbb, fb::Dist::Zeros)),
      fb::CreateParamSpec(fbb, spec("b", {2}), fb::CreateInitSpec(fbb, fb::Dist::Zeros))};
  std::vector<fbs::Offset<fb::OutputSpec>> outputs = {fb::CreateOutputSpecDirect(fbb, "y")};
  std::vector<int64_t> xs = {1, 2}, ws = {2, 2}, bs = {2}, ys = {1, 2};
  std::vector<fbs::Offset<fb::ValueDesc>> values = {
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &xs, fb::Storage::Input, 0),
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &ws, fb::Storage::Param, 0),
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &bs, fb::Storage::Param, 1),
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &ys, fb::Storage::Output, 0)};
  std::vector<uint32_t> results = {3}, in_ids = {0}, param_ids = {1, 2}, out_ids = {3},
                        state_ids = {};
  std::vector<fbs::Offset<fb::Instruction>> instructions = {fb::CreateInstructionDirect(
      fbb, fb::Opcode::Matmul, &operands, &results, &ints, nullptr, 0, 0, "one.mlir:1:1",
      "weft.matmul")};
  std::vector<fbs::Offset<fb::RankProgram>> ranks = {fb::CreateRankProgramDirect(
      fbb, &values, &in_ids, &param_ids, &state_ids, &out_ids, &instructions, 0)};
  auto root = fb::CreateArtifactDirect(fbb, artifact::kFormatVersion, "one.mlir", &inputs, &params,
                                       &outputs, nullptr, nullptr, nullptr, &ranks);
  fb::FinishArtifactBuffer(fbb, root);
  return artifact::MakeHeader(fbb.GetBufferPointer(), fbb.GetSize()) +
         std::string(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
}

absl::StatusOr<std::vector<float>> RunOneMatmul(std::vector<int64_t> ints, std::vector<uint32_t> operands) {
  auto runtime = Runtime::Create({.backend = "cpu", .communicator = "inprocess"});
  if (!runtime.ok()) return runtime.status();
  auto program = (*runtime)->LoadFromBytes(OneMatmul(std::move(ints), std::move(operands)), "one.weft");
  if (!program.ok()) return program.status();
  Tensor w(DType::kF32, {2, 2}), b(DType::kF32, {2}), x(DType::kF32, {1, 2});
  const float wv[] = {1, 2, 3, 4}, bv[] = {10, 20}, xv[] = {1, 1};
  std::copy(wv, wv + 4, w.data_as<float>());
  std::copy(bv, bv + 2, b.data_as<float>());
  std::copy(xv, xv + 2, x.data_as<float>());
  if (absl::Status s = (*program)->SetParameter("w", w); !s.ok()) return s;
  if (absl::Status s = (*program)->SetParameter("b", b); !s.ok()) return s;
  auto out = (*program)->Run({{"x", x}});
  if (!out.ok()) return out.status();
  const float *y = out->at("y").data_as<float>();
  return std::vector<float>{y[0], y[1]};
}

TEST(GemmEpilogueArtifact, AFoldedBiasIsAdded) {
  auto y = RunOneMatmul({1, 1, 2, 2, 0, 0, 0, 0, 1}, {0, 1, 2});  // [1 1] x [[1 2] [3 4]] + [10 20]
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(*y, (std::vector<float>{14, 26}));
  auto plain = RunOneMatmul({1, 1, 2, 2, 0, 0, 0, 0, 0}, {0, 1});  // epilogue 0: none
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(*plain, (std::vector<float>{4, 6}));
}

TEST(GemmEpilogueArtifact, InconsistentEpiloguesAreRefused) {
  auto expect_error = [](std::vector<int64_t> ints, std::vector<uint32_t> operands,
                         const char *message) {
    auto y = RunOneMatmul(std::move(ints), std::move(operands));
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find(message), std::string::npos) << y.status().message();
  };
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 9}, {0, 1, 2}, "its epilogue (integer 9) 9 is unknown");
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 1}, {0, 1},
               "expects 3 operands, 1 results and at least 7 integers; it has 2, 1 and 9");
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 2}, {0, 1, 2}, "expects 4 operands, 1 results");
  // A bias of the wrong size (w's 4 elements for n = 2).
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 1}, {0, 1, 1}, "its sizes do not match its operands");
  // pre for the GELU gradient is [rows, n]: b [2] is, w [2, 2] is not.
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 4}, {0, 1, 1}, "its sizes do not match its operands");
  expect_error({1, 1, 2, 2, 0, 0, 0, 2, 1}, {0, 1, 2}, "is not 0 or 1");
  // dgelu_tanh+bgrad has two results: the product's shape and the bias's.
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 5}, {0, 1, 0}, "expects 3 operands, 2 results");
  expect_error({1, 1, 2, 2, 0, 0, 0, 0, 1, 0}, {0, 1, 2}, "it has 10 integers; at most 9");
}

}  // namespace
}  // namespace weft

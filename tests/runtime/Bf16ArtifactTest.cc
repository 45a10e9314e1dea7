// The --precision=bf16 artifact contract (runtime/artifact/artifact.fbs): a
// one-matmul artifact written here by hand with and without the 8th int
// (bf16_inputs) and the root `precision`. Older artifacts (7 ints, no
// precision) load and run in f32; flagged ones run on bf16-rounded inputs;
// inconsistent ones are refused with a message naming the problem. The
// expected products are worked out by hand from exact ties.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/artifact/artifact_generated.h"
#include "runtime/artifact/format.h"
#include "runtime/artifact/reader.h"
#include "weft/runtime.h"

namespace weft {
namespace {

namespace fbs = flatbuffers;

// y [1, 1] = x [1, 2] x w [2, 1], with `flag` as the 8th int (none: 7 ints).
std::string OneMatmul(std::optional<int64_t> flag, const char *precision) {
  fbs::FlatBufferBuilder fbb;
  auto spec = [&](const char *name, std::vector<int64_t> shape) {
    return fb::CreateTensorSpecDirect(fbb, name, fb::DType::F32, &shape);
  };
  std::vector<fbs::Offset<fb::InputSpec>> inputs = {fb::CreateInputSpec(fbb, spec("x", {1, 2}))};
  std::vector<fbs::Offset<fb::ParamSpec>> params = {
      fb::CreateParamSpec(fbb, spec("w", {2, 1}), fb::CreateInitSpec(fbb, fb::Dist::Zeros))};
  std::vector<fbs::Offset<fb::OutputSpec>> outputs = {fb::CreateOutputSpecDirect(fbb, "y")};
  std::vector<int64_t> xs = {1, 2}, ws = {2, 1}, ys = {1, 1};
  std::vector<fbs::Offset<fb::ValueDesc>> values = {
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &xs, fb::Storage::Input, 0),
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &ws, fb::Storage::Param, 0),
      fb::CreateValueDescDirect(fbb, fb::DType::F32, &ys, fb::Storage::Output, 0)};
  std::vector<uint32_t> operands = {0, 1}, results = {2}, in_ids = {0}, param_ids = {1},
                        out_ids = {2}, state_ids = {};
  std::vector<int64_t> ints = {1, 1, 1, 2, 0, 0, 0};
  if (flag) ints.push_back(*flag);
  std::vector<fbs::Offset<fb::Instruction>> instructions = {fb::CreateInstructionDirect(
      fbb, fb::Opcode::Matmul, &operands, &results, &ints, nullptr, 0, 0, "one.mlir:1:1",
      "weft.matmul")};
  std::vector<fbs::Offset<fb::RankProgram>> ranks = {fb::CreateRankProgramDirect(
      fbb, &values, &in_ids, &param_ids, &state_ids, &out_ids, &instructions, 0)};
  auto root = fb::CreateArtifactDirect(fbb, artifact::kFormatVersion, "one.mlir", &inputs, &params,
                                       &outputs, nullptr, nullptr, nullptr, &ranks, nullptr, 0, 0,
                                       precision);
  fb::FinishArtifactBuffer(fbb, root);
  return artifact::MakeHeader(fbb.GetBufferPointer(), fbb.GetSize()) +
         std::string(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
}

// Runs y = x w with x = [1 + 2^-8, 1 + 3 * 2^-8] (bf16 ties: 1 and 1 + 2^-6)
// and w = [1, 1].
absl::StatusOr<float> RunOneMatmul(std::optional<int64_t> flag, const char *precision) {
  auto runtime = Runtime::Create({.backend = "cpu", .communicator = "inprocess"});
  if (!runtime.ok()) return runtime.status();
  auto program = (*runtime)->LoadFromBytes(OneMatmul(flag, precision), "one.weft");
  if (!program.ok()) return program.status();
  Tensor w(DType::kF32, {2, 1}), x(DType::kF32, {1, 2});
  w.data_as<float>()[0] = w.data_as<float>()[1] = 1.0f;
  x.data_as<float>()[0] = 1.0f + 0x1p-8f;
  x.data_as<float>()[1] = 1.0f + 3 * 0x1p-8f;
  if (absl::Status s = (*program)->SetParameter("w", w); !s.ok()) return s;
  auto out = (*program)->Run({{"x", x}});
  if (!out.ok()) return out.status();
  return out->at("y").data_as<float>()[0];
}

TEST(Bf16Artifact, OlderArtifactsRunInF32) {
  auto y = RunOneMatmul(std::nullopt, nullptr);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(*y, 2.0f + 4 * 0x1p-8f);
}

TEST(Bf16Artifact, FlagZeroIsF32) {
  for (const char *precision : {"f32", "bf16"}) {
    auto y = RunOneMatmul(0, precision);
    ASSERT_TRUE(y.ok()) << y.status().message();
    EXPECT_EQ(*y, 2.0f + 4 * 0x1p-8f);
  }
}

TEST(Bf16Artifact, FlaggedMatmulRoundsItsInputs) {
  auto y = RunOneMatmul(1, "bf16");
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(*y, 2.0f + 0x1p-6f);  // 1 + (1 + 2^-6)
}

TEST(Bf16Artifact, InconsistentArtifactsAreRefused) {
  auto expect_error = [](std::optional<int64_t> flag, const char *precision, const char *message) {
    auto y = RunOneMatmul(flag, precision);
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find(message), std::string::npos) << y.status().message();
  };
  expect_error(1, "f32", "takes bf16 inputs but the artifact's precision is f32");
  expect_error(1, nullptr, "takes bf16 inputs but the artifact's precision is f32");
  expect_error(2, "bf16", "bf16_inputs flag (integer 8) is not 0 or 1");
  expect_error(0, "fp8", "precision \"fp8\" is neither f32 nor bf16");
}

}  // namespace
}  // namespace weft

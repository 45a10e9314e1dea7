// The runtime executing pipeline stages in process: the hand-written
// two-stage artifact (PipelineArtifact.h) against the same model on one
// device (PipelineReference.h), for GPipe and 1F1B, several microbatch
// counts, and a pp x dp mesh; parameters only on their stage; checkpoints
// of whole tensors; and the verifier's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "PipelineArtifact.h"
#include "PipelineReference.h"
#include "runtime/io/safetensors.h"
#include "weft/runtime.h"

namespace weft {
namespace {

using testing::PipelineArtifactOptions;
using testing::PipelineReference;
using Flaw = PipelineArtifactOptions::Flaw;

std::unique_ptr<Program> Load(const PipelineArtifactOptions &o) {
  auto runtime = Runtime::Create({.backend = "cpu", .communicator = "inprocess", .collective_timeout_s = 60});
  EXPECT_TRUE(runtime.ok());
  auto program = (*runtime)->LoadFromBytes(testing::BuildPipelineArtifact(o), "pipeline");
  EXPECT_TRUE(program.ok()) << program.status().message();
  return program.ok() ? std::move(*program) : nullptr;
}

std::vector<float> Values(const Tensor &t) {
  return {t.data_as<float>(), t.data_as<float>() + t.num_elements()};
}

std::vector<float> Get(const Program &p, const std::string &name) {
  auto t = p.GetParameter(name);
  EXPECT_TRUE(t.ok()) << name << ": " << t.status().message();
  return t.ok() ? Values(*t) : std::vector<float>{};
}

Tensor RandomBatch(int rows, uint64_t seed) {
  Tensor x(DType::kF32, {rows, testing::kIn});
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data_as<float>()[i] = u(rng);
  return x;
}

// The reference starting from the program's own initial parameters.
PipelineReference ReferenceOf(const Program &p, const PipelineArtifactOptions &o) {
  PipelineReference ref;
  ref.w0 = Get(p, "W0");
  ref.t = Get(p, "T");
  ref.w1 = Get(p, "W1");
  ref.lr = o.lr;
  ref.momentum = o.momentum;
  return ref;
}

void ExpectNear(const std::vector<float> &got, const std::vector<float> &want, const char *what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * std::max(1.0f, std::fabs(want[i]))) << what << "[" << i << "]";
}

struct Case {
  pipeline::ScheduleKind schedule;
  int microbatches, dp;
};
std::string CaseName(const Case &c) {
  return std::string(pipeline::ScheduleKindName(c.schedule)) + "_m" + std::to_string(c.microbatches) +
         "_dp" + std::to_string(c.dp);
}
void PrintTo(const Case &c, std::ostream *os) { *os << CaseName(c); }

class PipelineExecutorTest : public ::testing::TestWithParam<Case> {};

// Three SGD steps with momentum: every loss and the final parameters match
// the one-device computation, so activations went forward, gradients came
// back, microbatches were summed, the tied weight's halves were added and
// each stage updated its own parameters.
TEST_P(PipelineExecutorTest, MatchesOneDevice) {
  PipelineArtifactOptions o;
  o.schedule = GetParam().schedule;
  o.microbatches = GetParam().microbatches;
  o.dp = GetParam().dp;
  auto program = Load(o);
  ASSERT_NE(program, nullptr);
  ASSERT_EQ(program->num_ranks(), 2 * o.dp);
  ASSERT_TRUE(program->InitParameters(11).ok());
  PipelineReference ref = ReferenceOf(*program, o);
  const Tensor x = RandomBatch(o.batch, 5);
  const std::vector<float> xs = Values(x);
  for (int step = 0; step < 3; ++step) {
    const double want = ref.Step(xs, o.batch);
    auto out = program->Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const float loss = out->at("loss").data_as<float>()[0];
    EXPECT_NEAR(loss, want, 1e-5 * std::fabs(want)) << "step " << step;
  }
  EXPECT_EQ(program->step(), 3);
  ExpectNear(Get(*program, "W0"), ref.w0, "W0");
  ExpectNear(Get(*program, "T"), ref.t, "T");
  ExpectNear(Get(*program, "W1"), ref.w1, "W1");
  ExpectNear(Get(*program, "optimizer.T.momentum"), ref.mt, "T's momentum");
}

INSTANTIATE_TEST_SUITE_P(
    Schedules, PipelineExecutorTest,
    ::testing::Values(Case{pipeline::ScheduleKind::k1F1B, 1, 1}, Case{pipeline::ScheduleKind::k1F1B, 4, 1},
                      Case{pipeline::ScheduleKind::kGPipe, 2, 1}, Case{pipeline::ScheduleKind::kGPipe, 4, 1},
                      Case{pipeline::ScheduleKind::k1F1B, 2, 2}),
    [](const ::testing::TestParamInfo<Case> &info) { return CaseName(info.param); });

// A stage holds its own parameters only: a device needs stage 0's W0 and T
// (the larger), not all three; W1, set from outside, reaches stage 1.
TEST(PipelineParameters, LiveOnTheirStageOnly) {
  PipelineArtifactOptions o;
  auto program = Load(o);
  ASSERT_NE(program, nullptr);
  const int64_t w0 = testing::kIn * testing::kHidden * 4, t = testing::kHidden * testing::kHidden * 4,
                w1 = testing::kHidden * testing::kOut * 4;
  EXPECT_EQ(program->parameter_bytes(), std::max(w0 + t, t + w1));
  ASSERT_TRUE(program->InitParameters(3).ok());
  Tensor w(DType::kF32, {testing::kHidden, testing::kOut});
  for (int64_t i = 0; i < w.num_elements(); ++i)
    w.data_as<float>()[i] = 0.25f * static_cast<float>(i % 5) - 0.5f;
  ASSERT_TRUE(program->SetParameter("W1", w).ok());
  EXPECT_EQ(Get(*program, "W1"), Values(w));
  PipelineReference ref = ReferenceOf(*program, o);
  const Tensor x = RandomBatch(o.batch, 9);
  const double want = ref.Step(Values(x), o.batch);
  auto out = program->Run({{"x", x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR(out->at("loss").data_as<float>()[0], want, 1e-5 * std::fabs(want));
}

// SaveParameters writes every tensor whole, from the stage that holds it;
// a fresh program that loads the file continues exactly where this one is.
TEST(PipelineParameters, SaveAndLoadRoundTripWholeTensors) {
  PipelineArtifactOptions o;
  o.dp = 2;
  auto program = Load(o);
  ASSERT_NE(program, nullptr);
  ASSERT_TRUE(program->InitParameters(4).ok());
  const Tensor x = RandomBatch(o.batch, 2);
  ASSERT_TRUE(program->Run({{"x", x}}).ok());
  const std::string path = ::testing::TempDir() + "/pipeline_checkpoint.safetensors";
  ASSERT_TRUE(program->SaveParameters(path).ok());
  auto file = io::ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  for (const auto &list : {program->parameters(), program->states()})
    for (const TensorInfo &info : list) {
      ASSERT_TRUE(file->tensors.count(info.name)) << info.name;
      const Tensor &saved = file->tensors.at(info.name);
      EXPECT_EQ(saved.shape(), info.shape) << info.name;
      EXPECT_EQ(Values(saved), Get(*program, info.name)) << info.name;
    }
  EXPECT_EQ(file->tensors.at("optimizer.step").data_as<float>()[0], 1.0f);

  auto copy = Load(o);
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(copy->LoadParameters(path, /*with_state=*/true).ok());
  std::remove(path.c_str());
  for (const TensorInfo &info : program->parameters())
    EXPECT_EQ(Get(*copy, info.name), Get(*program, info.name)) << info.name;
  auto a = program->Run({{"x", x}}), b = copy->Run({{"x", x}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->at("loss").data_as<float>()[0], b->at("loss").data_as<float>()[0]);
  for (const TensorInfo &info : program->parameters())
    EXPECT_EQ(Get(*copy, info.name), Get(*program, info.name)) << info.name << " after a step";
}

// The verifier refuses pipeline artifacts the executor could not run safely.
TEST(PipelineVerifier, RefusesFlaws) {
  auto runtime = Runtime::Create({.backend = "cpu", .communicator = "inprocess"});
  ASSERT_TRUE(runtime.ok());
  const std::pair<Flaw, const char *> cases[] = {
      {Flaw::kReadsAbsentParameter, "views parameter 2, which this rank does not hold"},
      {Flaw::kUnevenStage, "parameter 'W0' is held by rank 3 but not by rank 2 of the same pipeline stage"},
      {Flaw::kPeerOutOfRange, "peer 2 is not a rank of mesh axis 0 (2 ranks)"},
      {Flaw::kUnknownAxis, "mesh axis 'xp' is not one of pp, dp, tp"},
      {Flaw::kAxesOutOfOrder,
       "mesh axes must be listed in the order pp, dp, tp (outermost first); got dp, pp"},
      {Flaw::kTableStages,
       "the pipeline table has 3 stages, 1 chunks per rank and 2 microbatches; the mesh's pp axis "
       "has 2 ranks"},
  };
  for (const auto &[flaw, message] : cases) {
    PipelineArtifactOptions o;
    o.flaw = flaw;
    o.dp = flaw == Flaw::kUnevenStage || flaw == Flaw::kAxesOutOfOrder ? 2 : 1;
    auto program = (*runtime)->LoadFromBytes(testing::BuildPipelineArtifact(o), "flawed.weft");
    ASSERT_FALSE(program.ok()) << message;
    EXPECT_NE(program.status().message().find(message), std::string::npos) << program.status().message();
    EXPECT_NE(program.status().message().find("flawed.weft"), std::string::npos);
  }
}

}  // namespace
}  // namespace weft

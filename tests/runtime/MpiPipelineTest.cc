// The two-stage pipeline artifact (PipelineArtifact.h) under mpirun, one
// rank per process: `mpirun -np 2` runs pp=2, `-np 4` pp=2 x dp=2 (ctest
// runs both). The losses and updated parameters match the one-device
// computation (PipelineReference.h); a process holds its own stage's
// parameters only; SaveParameters writes whole tensors from the stage that
// holds each, and loading the file continues the run exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "PipelineArtifact.h"
#include "PipelineReference.h"
#include "runtime/collectives/communicator.h"
#include "runtime/io/safetensors.h"
#include "weft/runtime.h"

namespace weft {
namespace {

using testing::PipelineArtifactOptions;
using testing::PipelineReference;

Communicator &World() {
  static std::unique_ptr<Communicator> comm = [] {
    auto c = CreateMpiCommunicator(60);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }();
  return *comm;
}

std::vector<float> Values(const Tensor &t) {
  return {t.data_as<float>(), t.data_as<float>() + t.num_elements()};
}

void ExpectNear(const std::vector<float> &got, const std::vector<float> &want, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * std::max(1.0f, std::fabs(want[i]))) << what << "[" << i << "]";
}

TEST(MpiPipelineTest, StagesInProcessesMatchOneDevice) {
  ASSERT_TRUE(World().size() == 2 || World().size() == 4) << "run under mpirun -np 2 or -np 4";
  PipelineArtifactOptions o;
  o.dp = World().size() / 2;
  o.microbatches = 2;
  o.batch = 8;
  const std::string bytes = testing::BuildPipelineArtifact(o);
  auto runtime = Runtime::Create({.backend = "cpu", .communicator = "mpi", .collective_timeout_s = 60});
  ASSERT_TRUE(runtime.ok()) << runtime.status().message();
  auto loaded = (*runtime)->LoadFromBytes(bytes, "pipeline");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  Program &p = **loaded;
  const int me = p.process_rank(), stage = me / o.dp;
  ASSERT_EQ(me, World().rank());
  ASSERT_TRUE(p.InitParameters(21).ok());

  // The reference starts from the same numbers: initial values depend only
  // on the seed, the name and the element, so a one-process copy of the
  // program (ranks on threads) gives them whole.
  auto threads = Runtime::Create({.backend = "cpu", .communicator = "inprocess"});
  ASSERT_TRUE(threads.ok());
  auto whole = (*threads)->LoadFromBytes(bytes, "pipeline");
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  ASSERT_TRUE((*whole)->InitParameters(21).ok());
  PipelineReference ref;
  ref.w0 = Values(*(*whole)->GetParameter("W0"));
  ref.t = Values(*(*whole)->GetParameter("T"));
  ref.w1 = Values(*(*whole)->GetParameter("W1"));

  Tensor x(DType::kF32, {o.batch, testing::kIn});
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data_as<float>()[i] = u(rng);
  for (int step = 0; step < 2; ++step) {
    const double want = ref.Step(Values(x), o.batch);
    auto out = p.Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_NEAR(out->at("loss").data_as<float>()[0], want, 1e-5 * std::fabs(want))
        << "step " << step << " on rank " << me;
  }

  // This process holds its stage's parameters, updated as on one device;
  // the other stage's are not here.
  ExpectNear(Values(*p.GetParameter("T")), ref.t, "T (tied, on both stages)");
  const char *mine = stage == 0 ? "W0" : "W1", *theirs = stage == 0 ? "W1" : "W0";
  ExpectNear(Values(*p.GetParameter(mine)), stage == 0 ? ref.w0 : ref.w1, mine);
  auto absent = p.GetParameter(theirs);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(absent.status().message().find("lives on pipeline stage"), std::string::npos);

  // Every process saves; process 0 writes W1 received from stage 1.
  const std::string path =
      ::testing::TempDir() + "/mpi_pipeline_" + std::to_string(World().size()) + ".safetensors";
  ASSERT_TRUE(p.SaveParameters(path).ok());
  ASSERT_TRUE(World().Barrier().ok());
  if (me == 0) {
    auto file = io::ReadSafetensors(path);
    ASSERT_TRUE(file.ok()) << file.status().message();
    ExpectNear(Values(file->tensors.at("W0")), ref.w0, "saved W0");
    ExpectNear(Values(file->tensors.at("T")), ref.t, "saved T");
    ExpectNear(Values(file->tensors.at("W1")), ref.w1, "saved W1");
    ExpectNear(Values(file->tensors.at("optimizer.W1.momentum")), ref.m1, "saved W1's momentum");
    EXPECT_EQ(file->tensors.at("optimizer.step").data_as<float>()[0], 2.0f);
  }

  // A fresh program loads the checkpoint and takes the third step.
  auto again = (*runtime)->LoadFromBytes(bytes, "pipeline");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->LoadParameters(path, /*with_state=*/true).ok());
  const double want = ref.Step(Values(x), o.batch);
  auto out = (*again)->Run({{"x", x}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR(out->at("loss").data_as<float>()[0], want, 1e-5 * std::fabs(want));
  ASSERT_TRUE(World().Barrier().ok());
  if (me == 0) std::remove(path.c_str());
}

}  // namespace
}  // namespace weft

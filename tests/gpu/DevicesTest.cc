// The devices of a program (runtime/cuda/devices.h): the arena plan read
// from a compiled artifact (no GPU needed), and one device per rank.
#include <gtest/gtest.h>

#include <cstdlib>

#include "RequireGpu.h"
#include "runtime/artifact/reader.h"
#include "runtime/cuda/devices.h"
#include "weft/runtime.h"

namespace weft::cuda {
namespace {

// A dp=2 training artifact that ctest compiles first (gpu_artifact_setup);
// the environment variable of the same name overrides the built-in path.
std::string ArtifactPath() {
  const char *p = std::getenv("WEFT_GPU_TEST_ARTIFACT");
  return p ? p : WEFT_GPU_TEST_ARTIFACT;
}

TEST(CudaDevices, ArenaPlanIsEachRanksPlan) {
  auto art = artifact::ReadArtifactFile(ArtifactPath());
  ASSERT_TRUE(art.ok()) << art.status();
  const std::vector<int64_t> plan = ArenaPlan(*(*art)->root);
  ASSERT_EQ(plan.size(), 2u);  // dp=2
  auto runtime = Runtime::Create({});
  ASSERT_TRUE(runtime.ok());
  auto program = (*runtime)->Load(ArtifactPath());
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_GT(plan[0], 0);
  EXPECT_EQ(plan[0], (*program)->arena_bytes());
}

TEST(CudaDevices, RanksShareTheGpusRoundRobin) {
  EXPECT_EQ(GpuOfRank(0, 1), 0);
  EXPECT_EQ(GpuOfRank(3, 1), 0);
  EXPECT_EQ(GpuOfRank(3, 2), 1);
  EXPECT_EQ(GpuOfRank(5, 4), 1);
}

TEST(CudaDevices, OneDevicePerRankWithItsArena) {
  WEFT_REQUIRE_GPUS(1);
  const std::vector<int64_t> plan = {1 << 20, 0, 3 << 20, 4096};
  auto devices = CreateDevices(plan, /*gpus=*/1);  // four virtual devices on GPU 0
  ASSERT_TRUE(devices.ok()) << devices.status();
  ASSERT_EQ(devices->size(), 4u);
  for (size_t r = 0; r < plan.size(); ++r) {
    EXPECT_EQ((*devices)[r]->ordinal(), 0);
    EXPECT_EQ((*devices)[r]->arena_bytes(), plan[r]);
  }
  // Each virtual device has its own streams.
  EXPECT_NE((*devices)[0]->compute_stream(), (*devices)[1]->compute_stream());
}

TEST(CudaDevices, APlanThatDoesNotFitNamesItsRanks) {
  WEFT_REQUIRE_GPUS(1);
  const std::vector<int64_t> plan = {int64_t{1} << 49, 16, int64_t{1} << 49};
  auto devices = CreateDevices(plan, /*gpus=*/1);
  ASSERT_FALSE(devices.ok());
  EXPECT_EQ(devices.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(devices.status().message()).find("rank(s) 0, 1, 2 need"), std::string::npos)
      << devices.status();
}

}  // namespace
}  // namespace weft::cuda

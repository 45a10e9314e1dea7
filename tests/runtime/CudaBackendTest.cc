// Runtime::Create({.backend = "cuda"}) says in one line why it cannot run
// where there is no GPU (cudaGetDeviceCount's answer: CI and the build
// machines), and succeeds where there is one (tests/gpu runs programs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/cuda/backend.h"
#include "weft/runtime.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(CudaBackend, CreateSaysWhyInOneLine) {
  RuntimeOptions options;
  options.backend = "cuda";
  const absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(options);
  const absl::StatusOr<int> gpus = cuda::CountGpus();
  if (gpus.ok()) {
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return;
  }
  ASSERT_FALSE(runtime.ok());
  const std::string m(runtime.status().message());
  EXPECT_THAT(m, Not(HasSubstr("\n")));
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(m, gpus.status().message());
  EXPECT_THAT(m, StartsWith("no CUDA GPU: "));
  if (cuda::BuiltWithCuda()) EXPECT_THAT(m, HasSubstr("cudaGetDeviceCount failed: cudaError"));
}

TEST(CudaBackend, UnknownCommunicatorIsRefused) {
  RuntimeOptions options;
  options.backend = "cuda";
  options.communicator = "gloo";
  const absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(options);
  ASSERT_FALSE(runtime.ok());
  if (cuda::CountGpus().ok())
    EXPECT_THAT(runtime.status().message(), HasSubstr("expected auto, nccl, cuda-inprocess"));
}

TEST(CudaBackend, CpuIsUnaffected) {
  EXPECT_TRUE(Runtime::Create({}).ok());
}

}  // namespace
}  // namespace weft

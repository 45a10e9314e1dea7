// Runtime::Create({.backend = "cuda"}) says in one line why it cannot run:
// no GPU (cudaGetDeviceCount's answer) on CI and on the build machines, or
// the GPUs it found and that the kernels are still to come on a GPU machine.
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
  ASSERT_FALSE(runtime.ok());
  const std::string m(runtime.status().message());
  EXPECT_THAT(m, Not(HasSubstr("\n")));
  const absl::StatusOr<int> gpus = cuda::CountGpus();
  if (!gpus.ok()) {
    EXPECT_EQ(runtime.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(m, gpus.status().message());
    EXPECT_THAT(m, StartsWith("no CUDA GPU: "));
    if (cuda::BuiltWithCuda()) EXPECT_THAT(m, HasSubstr("cudaGetDeviceCount failed: cudaError"));
  } else {
    EXPECT_EQ(runtime.status().code(), absl::StatusCode::kUnimplemented);
    EXPECT_THAT(m, HasSubstr("found " + std::to_string(*gpus) + " CUDA GPU(s)"));
    EXPECT_THAT(m, HasSubstr("use --backend=cpu"));
  }
}

TEST(CudaBackend, CpuIsUnaffected) {
  EXPECT_TRUE(Runtime::Create({}).ok());
}

}  // namespace
}  // namespace weft

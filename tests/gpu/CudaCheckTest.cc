// The checking macros (runtime/cuda/check.h) on real failing calls. These
// need no GPU: every call below fails on a machine without one too, and
// each library names its errors without a device.
#include <cublasLt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "runtime/cuda/backend.h"
#include "runtime/cuda/check.h"

namespace weft::cuda {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status SetImpossibleDevice() {
  WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(9999));
  return absl::OkStatus();
}

TEST(CudaCheck, RuntimeErrorNamesPlaceCallAndError) {
  const absl::Status s = SetImpossibleDevice();
  ASSERT_FALSE(s.ok());
  const std::string m(s.message());
  // Without a driver: cudaErrorInsufficientDriver; with a GPU: cudaErrorInvalidDevice.
  EXPECT_THAT(m, StartsWith("tests/gpu/CudaCheckTest.cc:"));
  EXPECT_THAT(m, HasSubstr(": cudaSetDevice(9999) failed: cudaError"));
  EXPECT_THAT(m, HasSubstr(" ("));  // cudaGetErrorString's description follows the name
  // Reported once: the error does not stay behind for the next caller.
  // (Without a driver CUDA never initialises, and says so on every call.)
  if (CountGpus().ok()) EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaCheck, SuccessIsOk) {
  int version = 0;
  EXPECT_TRUE(WEFT_CUDA_STATUS(cudaRuntimeGetVersion(&version)).ok());
  EXPECT_GE(version, 12000);
  EXPECT_TRUE(WEFT_CUDA_STATUS(ncclGetVersion(&version)).ok());
  EXPECT_GE(version, 22800);
}

TEST(CudaCheck, NcclErrorCarriesNcclsReason) {
  int count = 0;
  const absl::Status s = WEFT_CUDA_STATUS(ncclCommCount(nullptr, &count));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("ncclCommCount(nullptr, &count) failed: ncclInvalidArgument ("));
}

TEST(CudaCheck, CublasLtErrorIsNamed) {
  const absl::Status s =
      WEFT_CUDA_STATUS(cublasLtMatmulDescCreate(nullptr, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("failed: CUBLAS_STATUS_INVALID_VALUE ("));
}

// check.cc spells cuBLAS's names itself (asking libcublasLt would load it
// into every process): they must be the library's own.
TEST(CudaCheck, CublasNamesAreTheLibrarys) {
  for (cublasStatus_t code :
       {CUBLAS_STATUS_NOT_INITIALIZED, CUBLAS_STATUS_ALLOC_FAILED, CUBLAS_STATUS_INVALID_VALUE,
        CUBLAS_STATUS_ARCH_MISMATCH, CUBLAS_STATUS_MAPPING_ERROR, CUBLAS_STATUS_EXECUTION_FAILED,
        CUBLAS_STATUS_INTERNAL_ERROR, CUBLAS_STATUS_NOT_SUPPORTED, CUBLAS_STATUS_LICENSE_ERROR}) {
    const absl::Status s = WEFT_CUDA_STATUS(code);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr(std::string("failed: ") + cublasLtGetStatusName(code) + " ("));
  }
}

TEST(CudaCheck, DriverErrorsAreStatusesToo) {
  const absl::Status s = WEFT_CUDA_STATUS(CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  // Named by the driver where there is one, by number where there is none.
  EXPECT_THAT(std::string(s.message()),
              ::testing::AnyOf(HasSubstr("CUDA_ERROR_OUT_OF_MEMORY"), HasSubstr("CUresult 2")));
}

TEST(CudaCheck, OutOfMemoryIsResourceExhausted) {
  EXPECT_EQ(WEFT_CUDA_STATUS(cudaErrorMemoryAllocation).code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace weft::cuda

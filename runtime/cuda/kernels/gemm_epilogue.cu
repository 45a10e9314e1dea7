// The launcher of kernels.h for a Matmul's epilogue when cuBLASLt cannot
// fuse it: the host side in gemm_epilogue.cuh with a real launch.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/device_launch.cuh"
#include "runtime/cuda/kernels/gemm_epilogue.cuh"

namespace weft::cuda {

absl::Status GemmEpilogue(artifact::GemmEpilogue kind, float *out, const float *bias,
                          const float *extra, float *pre_out, int64_t rows, int64_t n,
                          cudaStream_t stream) {
  kernels::GemmEpilogueRun(kernels::DeviceLaunch{stream}, kind, out, bias, extra, pre_out, rows, n);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

}  // namespace weft::cuda

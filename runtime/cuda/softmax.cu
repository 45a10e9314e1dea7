// The softmax launcher of softmax.h: runs the host side in
// kernels/softmax.cuh with a real launch on the stream, then checks the
// launches.
#include "runtime/cuda/softmax.h"

#include "runtime/cuda/attention_gemm.h"

#include "runtime/cuda/kernels/device_launch.cuh"
#include "runtime/cuda/kernels/softmax.cuh"

namespace weft::cuda {

absl::Status Softmax(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner,
                     cudaStream_t stream) {
  kernels::SoftmaxRun(kernels::DeviceLaunch{stream}, x, y, outer, dim, inner);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

// attention_gemm.h's masked softmax: here, beside the softmax kernels it
// shares a header with (each kernel is defined in one .cu).
absl::Status MaskedSoftmaxRows(float *x, int64_t rows, int64_t sq, int64_t sk, bool causal,
                               cudaStream_t stream) {
  kernels::MaskedSoftmaxRowsRun(kernels::DeviceLaunch{stream}, x, rows, sq, sk, causal);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

}  // namespace weft::cuda

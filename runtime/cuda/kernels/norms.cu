// The launchers of kernels.h for SoftmaxGrad and the normalisations: each runs the host side in
// norms.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/norms.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status SoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer, int64_t dim,
                         int64_t inner, cudaStream_t stream) {
  kernels::SoftmaxGradRun(DeviceLaunch{stream}, y, dy, dx, outer, dim, inner);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status LayerNorm(const float *x, const float *gamma, const float *beta, float *y, int64_t rows,
                       int64_t d, float eps, cudaStream_t stream) {
  kernels::LayerNormRun(DeviceLaunch{stream}, x, gamma, beta, y, rows, d, eps);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status LayerNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                           float *dgamma, float *dbeta, int64_t rows, int64_t d, float eps,
                           cudaStream_t stream) {
  if (d <= 0) return absl::OkStatus();
  kernels::StreamScratch scratch(stream);  // row statistics, column partial sums
  if (absl::Status s = scratch.Allocate(kernels::LayerNormGradScratch(rows, d) * sizeof(double));
      !s.ok())
    return s;
  kernels::LayerNormGradRun(DeviceLaunch{stream}, x, gamma, dy, dx, dgamma, dbeta, rows, d, eps,
                            scratch.get<double>());
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status RmsNorm(const float *x, const float *gamma, float *y, int64_t rows, int64_t d,
                     float eps, cudaStream_t stream) {
  kernels::RmsNormRun(DeviceLaunch{stream}, x, gamma, y, rows, d, eps);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status RmsNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                         float *dgamma, int64_t rows, int64_t d, float eps, cudaStream_t stream) {
  if (d <= 0) return absl::OkStatus();
  kernels::StreamScratch scratch(stream);  // 1 / rms of each row, column partial sums
  if (absl::Status s = scratch.Allocate(kernels::RmsNormGradScratch(rows, d) * sizeof(double));
      !s.ok())
    return s;
  kernels::RmsNormGradRun(DeviceLaunch{stream}, x, gamma, dy, dx, dgamma, rows, d, eps,
                          scratch.get<double>());
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

}  // namespace weft::cuda

// The launchers of kernels.h for the optimizer updates: each runs the host side in
// optimizers.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/optimizers.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status SgdUpdate(const float *param, const float *grad, const float *buf, const float *step,
                       float *new_param, float *new_buf, int64_t n, float lr, float momentum,
                       float weight_decay, cudaStream_t stream) {
  kernels::SgdUpdateRun(DeviceLaunch{stream}, param, grad, buf, step, new_param, new_buf, n, lr,
                        momentum, weight_decay);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status AdamwUpdate(const float *param, const float *grad, const float *m, const float *v,
                         const float *step, float *new_param, float *new_m, float *new_v, int64_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         cudaStream_t stream) {
  kernels::AdamwUpdateRun(DeviceLaunch{stream}, param, grad, m, v, step, new_param, new_m, new_v, n,
                          lr, beta1, beta2, eps, weight_decay);
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

}  // namespace weft::cuda

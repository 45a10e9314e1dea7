// The launchers of kernels.h for Attention and AttentionGrad: each runs the host side in
// attention.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/attention.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status Attention(const float *q, const float *k, const float *v, float *out, int64_t b,
                       int64_t h, int64_t sq, int64_t sk, int64_t dh, int64_t dv, bool causal,
                       float scale, cudaStream_t stream) {
  kernels::AttentionRun(DeviceLaunch{stream}, q, k, v, out,
                        kernels::AttentionShape{b * h, sq, sk, dh, dv, causal, scale});
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status AttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                           float *dq, float *dk, float *dv, int64_t b, int64_t h, int64_t sq,
                           int64_t sk, int64_t dh, int64_t dvdim, bool causal, float scale,
                           cudaStream_t stream) {
  kernels::AttentionGradRun(DeviceLaunch{stream}, q, k, v, dout, dq, dk, dv,
                            kernels::AttentionShape{b * h, sq, sk, dh, dvdim, causal, scale});
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

}  // namespace weft::cuda

// The launchers of kernels.h for Reduce and ReduceInt: each runs the host side in
// reduce.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/reduce.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status Reduce(const float *x, float *y, const std::vector<int64_t> &shape,
                    const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::ReduceRun(DeviceLaunch{stream}, x, y, shape, reduce_dim, kind));
}

absl::Status ReduceInt(const void *x, void *y, DType dtype, const std::vector<int64_t> &shape,
                       const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::ReduceIntRun(DeviceLaunch{stream}, x, y, dtype, shape, reduce_dim, kind));
}

}  // namespace weft::cuda

// The launchers of kernels.h for ReduceBuffers: each runs the host side in
// collectives.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/collectives.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status ReduceBuffers(const void *const *parts, int num_parts, void *out, int64_t count,
                           DType dtype, int kind, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::ReduceBuffersRun(DeviceLaunch{stream}, parts, num_parts, out, count, dtype,
                                          kind));
}

}  // namespace weft::cuda

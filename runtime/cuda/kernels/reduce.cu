// The launchers of kernels.h for Reduce and ReduceInt: each runs the host side in
// reduce.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/reduce.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status Reduce(const float *x, float *y, const std::vector<int64_t> &shape,
                    const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream) {
  kernels::ReducePlan p;
  if (absl::Status s = kernels::PlanReduction(shape, reduce_dim, kind, p); !s.ok()) return s;
  kernels::StreamScratch scratch(stream);  // the fast paths' per-chunk partials
  if (const int64_t doubles = kernels::ReduceScratch(p); doubles > 0)
    if (absl::Status s = scratch.Allocate(doubles * sizeof(double)); !s.ok()) return s;
  kernels::ReduceRun(DeviceLaunch{stream}, x, y, p, kind, scratch.get<double>());
  WEFT_CUDA_LAUNCHED(absl::OkStatus());
}

absl::Status ReduceInt(const void *x, void *y, DType dtype, const std::vector<int64_t> &shape,
                       const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::ReduceIntRun(DeviceLaunch{stream}, x, y, dtype, shape, reduce_dim, kind));
}

}  // namespace weft::cuda

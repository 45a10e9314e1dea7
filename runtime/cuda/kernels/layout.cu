// The launchers of kernels.h for the layout ops: each runs the host side in
// layout.cuh with a real launch on the stream, then checks the launches.
#include "runtime/cuda/kernels.h"

#include "runtime/cuda/kernels/layout.cuh"
#include "runtime/cuda/kernels/device_launch.cuh"

namespace weft::cuda {

using kernels::DeviceLaunch;

absl::Status CopyStrided(const void *src, int64_t src_offset, const std::vector<int64_t> &src_strides,
                         void *dst, int64_t dst_offset, const std::vector<int64_t> &dst_strides,
                         const std::vector<int64_t> &shape, size_t element_size, cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::CopyStridedRun(DeviceLaunch{stream}, src, src_offset, src_strides, dst,
                                        dst_offset, dst_strides, shape, element_size));
}

absl::Status Cast(const void *src, DType src_type, void *dst, DType dst_type, int64_t n,
                  cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::CastRun(DeviceLaunch{stream}, src, src_type, dst, dst_type, n));
}

absl::Status PackSlices(const void *src, void *dst, int64_t outer, int parts, size_t width_bytes,
                        cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::PackSlicesRun(DeviceLaunch{stream}, src, dst, outer, parts, width_bytes,
                                       /*unpack=*/false));
}

absl::Status UnpackSlices(const void *src, void *dst, int64_t outer, int parts, size_t width_bytes,
                          cudaStream_t stream) {
  WEFT_CUDA_LAUNCHED(kernels::PackSlicesRun(DeviceLaunch{stream}, src, dst, outer, parts, width_bytes,
                                       /*unpack=*/true));
}

}  // namespace weft::cuda

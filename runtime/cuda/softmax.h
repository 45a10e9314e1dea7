// The softmax instruction on the GPU, the CUDA twin of cpu::Softmax: softmax
// over the middle dimension of a dense f32 [outer, dim, inner] tensor.
#ifndef WEFT_RUNTIME_CUDA_SOFTMAX_H
#define WEFT_RUNTIME_CUDA_SOFTMAX_H

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace weft::cuda {

/// Enqueues y = softmax(x) on `stream`; x and y are device memory and may
/// be the same buffer. The launch is checked; the kernel's own errors show up
/// at the next synchronisation.
absl::Status Softmax(const float *x, float *y, int64_t outer, int64_t dim, int64_t inner,
                     cudaStream_t stream);

}  // namespace weft::cuda

#endif

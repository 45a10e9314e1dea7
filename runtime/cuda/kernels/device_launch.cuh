// The GPU side of the kernel headers' `launch`: a real <<<>>> launch on a
// stream, and stream-ordered scratch memory. nvcc only (the emulation test
// has its own launch, tests/runtime/CudaEmulation.h).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_DEVICE_LAUNCH_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_DEVICE_LAUNCH_CUH

#include <cuda_runtime.h>

#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels/block_reduce.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

/// launch(kernel, work, args...): BlocksFor(work) blocks of kThreads on
/// `stream`; nothing when there is no work. Errors are read once by the
/// caller (cudaGetLastError keeps the first failed launch's).
struct DeviceLaunch {
  cudaStream_t stream;
  template <typename... P, typename... A>
  void operator()(void (*kernel)(P...), int64_t work, A... args) const {
    if (work <= 0) return;
    kernel<<<BlocksFor(work), kThreads, 0, stream>>>(static_cast<P>(args)...);
  }
  /// A cooperative kernel (block_reduce.cuh) on `shape`; nothing for no
  /// blocks.
  template <typename... P, typename... A>
  void Blocks(void (*kernel)(P...), BlockShape shape, A... args) const {
    if (shape.blocks == 0) return;
    kernel<<<shape.blocks, shape.threads, 0, stream>>>(static_cast<P>(args)...);
  }
};

/// Scratch device memory for one launcher's kernels, allocated and freed in
/// stream order (so it works under CUDA graph capture too).
class StreamScratch {
 public:
  explicit StreamScratch(cudaStream_t stream) : stream_(stream) {}
  ~StreamScratch() {
    if (p_) cudaFreeAsync(p_, stream_);
  }
  absl::Status Allocate(size_t bytes) {
    WEFT_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&p_, bytes > 0 ? bytes : 1, stream_));
    return absl::OkStatus();
  }
  template <typename T>
  T *get() const { return static_cast<T *>(p_); }

 private:
  cudaStream_t stream_;
  void *p_ = nullptr;
};

}  // namespace weft::cuda::kernels

/// Returns the host side's Status if it failed, else the launches' (the
/// runtime keeps a failed launch's error until cudaGetLastError reads it).
#define WEFT_CUDA_LAUNCHED(status_expr)                                     \
  do {                                                                      \
    if (::absl::Status _weft_s = (status_expr); !_weft_s.ok()) return _weft_s; \
    WEFT_CUDA_RETURN_IF_ERROR(cudaGetLastError());                          \
    return ::absl::OkStatus();                                              \
  } while (0)

#endif

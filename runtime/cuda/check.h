// One checking macro family for every CUDA runtime, CUDA driver, cuBLAS(Lt)
// and NCCL call: the return code becomes an absl::Status that names where the
// call is, the call as written, the error's name and its description.
//
//   WEFT_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, bytes));   // returns the Status
//   absl::Status s = WEFT_CUDA_STATUS(ncclCommDestroy(comm));
//
// gives, e.g.,
//   runtime/cuda/device.cc:57: cudaMalloc(&p, bytes) failed: cudaErrorMemoryAllocation (out of memory)
//
// The overload is picked by the call's return type (cudaError_t, CUresult,
// cublasStatus_t, ncclResult_t), so one macro serves all four libraries.
#ifndef WEFT_RUNTIME_CUDA_CHECK_H
#define WEFT_RUNTIME_CUDA_CHECK_H

#include <cublas_api.h>
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "absl/status/status.h"

namespace weft::cuda::internal {

absl::Status Failed(cudaError_t code, const char *call, const char *file, int line);
absl::Status Failed(CUresult code, const char *call, const char *file, int line);
absl::Status Failed(cublasStatus_t code, const char *call, const char *file, int line);
absl::Status Failed(ncclResult_t code, const char *call, const char *file, int line);

// Success costs one comparison; the message is built out of line.
inline absl::Status Check(cudaError_t code, const char *call, const char *file, int line) {
  return code == cudaSuccess ? absl::OkStatus() : Failed(code, call, file, line);
}
inline absl::Status Check(CUresult code, const char *call, const char *file, int line) {
  return code == CUDA_SUCCESS ? absl::OkStatus() : Failed(code, call, file, line);
}
inline absl::Status Check(cublasStatus_t code, const char *call, const char *file, int line) {
  return code == CUBLAS_STATUS_SUCCESS ? absl::OkStatus() : Failed(code, call, file, line);
}
// ncclInProgress is not a failure: a non-blocking communicator answers it
// while the call completes, and the caller polls ncclCommGetAsyncError.
inline absl::Status Check(ncclResult_t code, const char *call, const char *file, int line) {
  return code == ncclSuccess || code == ncclInProgress ? absl::OkStatus()
                                                       : Failed(code, call, file, line);
}

}  // namespace weft::cuda::internal

/// The Status of one CUDA, driver, cuBLAS(Lt) or NCCL call.
#define WEFT_CUDA_STATUS(call) ::weft::cuda::internal::Check((call), #call, __FILE__, __LINE__)

/// Returns the call's Status from the enclosing function when it failed.
#define WEFT_CUDA_RETURN_IF_ERROR(call)                                  \
  do {                                                                   \
    if (::absl::Status _weft_cuda_s = WEFT_CUDA_STATUS(call); !_weft_cuda_s.ok()) \
      return _weft_cuda_s;                                               \
  } while (0)

#endif

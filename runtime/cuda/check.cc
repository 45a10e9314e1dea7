// The messages of runtime/cuda/check.h. Names and descriptions come from each
// library where it can give them without a GPU (cudart, NCCL); cuBLAS(Lt)'s
// are spelled out here because asking libcublasLt would load all 540 MB of
// it into every process that links the runtime, CPU-only runs included.
#include "runtime/cuda/check.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft::cuda::internal {
namespace {

// "runtime/cuda/device.cc" rather than the build machine's absolute path.
std::string Where(const char *file, int line) {
  std::string f = file;
  for (const char *top : {"/runtime/", "/tests/", "/bench/", "/examples/"})
    if (size_t at = f.rfind(top); at != std::string::npos) {
      f = f.substr(at + 1);
      break;
    }
  return absl::StrCat(f, ":", line);
}

absl::Status Make(absl::StatusCode code, const char *call, const char *file, int line,
                  const std::string &name, const std::string &text) {
  return absl::Status(code, absl::StrCat(Where(file, line), ": ", call, " failed: ", name, " (",
                                         text, ")"));
}

// The driver's own names, reached through cudart (the runtime never links
// libcuda, which machines without a GPU lack); a number where it is absent.
std::pair<std::string, std::string> DriverNames(CUresult code) {
  using Fn = CUresult (*)(CUresult, const char **);
  static Fn name_fn = nullptr, text_fn = nullptr;
  static const bool found = [] {
    cudaDriverEntryPointQueryResult q1, q2;
    void *n = nullptr, *t = nullptr;
    const bool ok = cudaGetDriverEntryPointByVersion("cuGetErrorName", &n, 12000, cudaEnableDefault,
                                                     &q1) == cudaSuccess &&
                    cudaGetDriverEntryPointByVersion("cuGetErrorString", &t, 12000,
                                                     cudaEnableDefault, &q2) == cudaSuccess &&
                    n && t;
    cudaGetLastError();  // the lookup's failure is not the caller's error
    name_fn = reinterpret_cast<Fn>(n);
    text_fn = reinterpret_cast<Fn>(t);
    return ok;
  }();
  const char *name = nullptr, *text = nullptr;
  if (found && name_fn(code, &name) == CUDA_SUCCESS && text_fn(code, &text) == CUDA_SUCCESS)
    return {name, text};
  return {absl::StrCat("CUresult ", static_cast<int>(code)), "no driver to name it"};
}

const char *CublasName(cublasStatus_t code) {
  switch (code) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char *CublasText(cublasStatus_t code) {
  switch (code) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the GPU does not support this operation";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the functionality requested requires a license";
  }
  return "unknown cuBLAS status";
}

const char *NcclName(ncclResult_t code) {
  switch (code) {
    case ncclSuccess: return "ncclSuccess";
    case ncclUnhandledCudaError: return "ncclUnhandledCudaError";
    case ncclSystemError: return "ncclSystemError";
    case ncclInternalError: return "ncclInternalError";
    case ncclInvalidArgument: return "ncclInvalidArgument";
    case ncclInvalidUsage: return "ncclInvalidUsage";
    case ncclRemoteError: return "ncclRemoteError";
    case ncclInProgress: return "ncclInProgress";
    default: return "ncclUnknownResult";
  }
}

}  // namespace

absl::Status Failed(cudaError_t code, const char *call, const char *file, int line) {
  // A launch or call error is reported here once; leaving it set would make
  // the next, unrelated cudaGetLastError() report it again.
  cudaGetLastError();
  absl::StatusCode kind = absl::StatusCode::kInternal;
  if (code == cudaErrorMemoryAllocation) kind = absl::StatusCode::kResourceExhausted;
  if (code == cudaErrorInvalidValue) kind = absl::StatusCode::kInvalidArgument;
  if (code == cudaErrorNoDevice || code == cudaErrorInsufficientDriver ||
      code == cudaErrorDevicesUnavailable)
    kind = absl::StatusCode::kUnavailable;
  return Make(kind, call, file, line, cudaGetErrorName(code), cudaGetErrorString(code));
}

absl::Status Failed(CUresult code, const char *call, const char *file, int line) {
  auto [name, text] = DriverNames(code);
  const absl::StatusCode kind = code == CUDA_ERROR_OUT_OF_MEMORY ? absl::StatusCode::kResourceExhausted
                                                                 : absl::StatusCode::kInternal;
  return Make(kind, call, file, line, name, text);
}

absl::Status Failed(cublasStatus_t code, const char *call, const char *file, int line) {
  absl::StatusCode kind = absl::StatusCode::kInternal;
  if (code == CUBLAS_STATUS_ALLOC_FAILED) kind = absl::StatusCode::kResourceExhausted;
  if (code == CUBLAS_STATUS_INVALID_VALUE) kind = absl::StatusCode::kInvalidArgument;
  if (code == CUBLAS_STATUS_NOT_SUPPORTED || code == CUBLAS_STATUS_ARCH_MISMATCH)
    kind = absl::StatusCode::kUnimplemented;
  return Make(kind, call, file, line, CublasName(code), CublasText(code));
}

absl::Status Failed(ncclResult_t code, const char *call, const char *file, int line) {
  std::string text = ncclGetErrorString(code);
  // NCCL keeps a more precise reason per thread (which peer, which
  // transport); it is the part worth reading.
  if (const char *last = ncclGetLastError(nullptr); last && *last)
    absl::StrAppend(&text, "; NCCL says: ", last);
  absl::StatusCode kind = absl::StatusCode::kInternal;
  if (code == ncclInvalidArgument || code == ncclInvalidUsage)
    kind = absl::StatusCode::kInvalidArgument;
  if (code == ncclRemoteError || code == ncclSystemError) kind = absl::StatusCode::kUnavailable;
  return Make(kind, call, file, line, NcclName(code), text);
}

}  // namespace weft::cuda::internal

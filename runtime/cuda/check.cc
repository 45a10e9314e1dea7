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

// cuBLAS's statuses with the names and descriptions cublasLtGetStatusName
// and cublasLtGetStatusString give (a test compares the names).
struct CublasStatusText {
  cublasStatus_t code;
  const char *name, *text;
};
constexpr CublasStatusText kCublas[] = {
    {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success"},
    {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED", "resource allocation failed"},
    {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE", "an invalid value was used as an argument"},
    {CUBLAS_STATUS_ARCH_MISMATCH, "CUBLAS_STATUS_ARCH_MISMATCH", "the GPU does not support this operation"},
    {CUBLAS_STATUS_MAPPING_ERROR, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {CUBLAS_STATUS_INTERNAL_ERROR, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
    {CUBLAS_STATUS_LICENSE_ERROR, "CUBLAS_STATUS_LICENSE_ERROR", "the functionality requested requires a license"},
};

CublasStatusText CublasTextOf(cublasStatus_t code) {
  for (const CublasStatusText &t : kCublas)
    if (t.code == code) return t;
  return {code, "CUBLAS_STATUS_UNKNOWN", "unknown cuBLAS status"};
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
  const CublasStatusText t = CublasTextOf(code);
  return Make(kind, call, file, line, t.name, t.text);
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

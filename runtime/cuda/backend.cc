// Probing for GPUs. cudaGetDeviceCount is the one question: it fails with a
// named error where there is no GPU or no driver (error 35 on the build
// machines, which have the toolkit but no driver), and that answer is the
// message.
#include "runtime/cuda/backend.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace weft::cuda {

bool BuiltWithCuda() { return true; }

absl::StatusOr<int> CountGpus() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess && count > 0) return count;
  cudaGetLastError();
  if (e == cudaSuccess) return absl::UnavailableError("no CUDA GPU: cudaGetDeviceCount found 0 devices");
  std::string why = absl::StrCat("no CUDA GPU: cudaGetDeviceCount failed: ", cudaGetErrorName(e),
                                 " (", cudaGetErrorString(e), ")");
  // "Driver version is insufficient" also means "no driver at all"; say which.
  if (void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    dlclose(driver);
  } else {
    absl::StrAppend(&why, "; the NVIDIA driver (libcuda.so.1) is not installed here");
  }
  return absl::UnavailableError(why);
}

absl::Status BackendStatus() { return CountGpus().status(); }

std::string DescribeGpus() {
  absl::StatusOr<int> count = CountGpus();
  if (!count.ok()) return std::string(count.status().message());
  std::string gpus;
  for (int d = 0; d < *count; ++d) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    absl::StrAppend(&gpus, d ? "; " : "", d, ": ", p.name,
                    absl::StrFormat(", sm_%d%d, %.1f GiB", p.major, p.minor,
                                    p.totalGlobalMem / double(1 << 30)));
  }
  return gpus;
}

}  // namespace weft::cuda

// Built when CUDA is off (WEFT_ENABLE_CUDA, or no toolkit found): the runtime links, and the cuda
// backend says why it is not there.
#include "runtime/cuda/backend.h"

namespace weft::cuda {

bool BuiltWithCuda() { return false; }

absl::StatusOr<int> CountGpus() {
  return absl::UnavailableError(
      "no CUDA GPU: this runtime was built without CUDA (configured with WEFT_ENABLE_CUDA=OFF, or "
      "without nvcc and NCCL in /usr/local/cuda)");
}

absl::Status BackendStatus() { return CountGpus().status(); }

std::string DescribeGpus() { return std::string(CountGpus().status().message()); }

absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateCudaBackend(const DeviceBackendContext &,
                                                                 const std::string &) {
  return CountGpus().status();
}

}  // namespace weft::cuda

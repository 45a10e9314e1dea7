// Built when the CUDA toolkit was not found: the runtime links, and the cuda
// backend says why it is not there.
#include "runtime/cuda/backend.h"

namespace weft::cuda {

bool BuiltWithCuda() { return false; }

absl::StatusOr<int> CountGpus() {
  return absl::UnavailableError(
      "no CUDA GPU: this runtime was built without CUDA (nvcc was not found when it was "
      "configured; install the CUDA toolkit in /usr/local/cuda and reconfigure)");
}

absl::Status BackendStatus() { return CountGpus().status(); }

}  // namespace weft::cuda

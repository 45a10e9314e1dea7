// weftc built without the CUDA toolkit: --target=cuda says so.
#include "compiler/target/cuda/Nvrtc.h"

namespace weft::cuda {

bool HaveNvrtc() { return false; }

absl::StatusOr<CompiledModule> CompileCuda(const std::string &, const std::string &,
                                           const std::string &) {
  return absl::FailedPreconditionError(
      "--target=cuda needs NVRTC, and this weftc was built without the CUDA toolkit "
      "(configure with WEFT_ENABLE_CUDA=ON where /usr/local/cuda has it)");
}

}  // namespace weft::cuda

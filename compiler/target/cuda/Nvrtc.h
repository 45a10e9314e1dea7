// CUDA C to GPU code at compile time, through NVRTC (the CUDA toolkit's
// runtime compiler: a library, so weftc needs no nvcc and no GPU). The
// result goes into the artifact: SASS for the build's architecture, which
// the driver loads as is, and PTX, which it JIT-compiles for any newer GPU.
#ifndef WEFT_COMPILER_TARGET_CUDA_NVRTC_H
#define WEFT_COMPILER_TARGET_CUDA_NVRTC_H

#include <string>

#include "absl/status/statusor.h"

namespace weft::cuda {

struct CompiledModule {
  std::string cubin;  // SASS for `arch` (an ELF image)
  std::string ptx;    // for compute_<arch number>, loadable on newer GPUs
  std::string arch;   // e.g. "sm_90"
};

/// True when weftc was built with NVRTC (the CUDA toolkit was found).
bool HaveNvrtc();

/// Compiles `source` (named `name` in messages) for `arch` ("sm_90"); the
/// error carries NVRTC's log.
absl::StatusOr<CompiledModule> CompileCuda(const std::string &source, const std::string &name,
                                           const std::string &arch);

}  // namespace weft::cuda

#endif

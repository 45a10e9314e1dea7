// Whether this process can use CUDA GPUs, and if not, why, in one line.
// Both builds define these: backend.cc with CUDA, backend_stub.cc without,
// so Runtime::Create and the tests ask the same question either way.
#ifndef WEFT_RUNTIME_CUDA_BACKEND_H
#define WEFT_RUNTIME_CUDA_BACKEND_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::cuda {

/// True when this runtime was built with the CUDA toolkit.
bool BuiltWithCuda();

/// The number of CUDA GPUs this process sees (at least 1), or Unavailable
/// with one line that starts "no CUDA GPU: " and gives cudaGetDeviceCount's
/// answer (or says the runtime was built without CUDA). GPU tests skip with
/// this message.
absl::StatusOr<int> CountGpus();

/// Runtime::Create({.backend = "cuda"})'s answer while the CUDA executor is
/// still to come (issue 7): always an error, one line, saying why this
/// process cannot run the cuda backend: built without CUDA, no GPU, or GPUs
/// found (named) but no CUDA kernels to run programs with yet.
absl::Status BackendStatus();

}  // namespace weft::cuda

#endif

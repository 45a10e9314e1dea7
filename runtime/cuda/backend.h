// Whether this process can use CUDA GPUs, and if not, why, in one line.
// Both builds define these: backend.cc with CUDA, backend_stub.cc without,
// so Runtime::Create and the tests ask the same question either way.
#ifndef WEFT_RUNTIME_CUDA_BACKEND_H
#define WEFT_RUNTIME_CUDA_BACKEND_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/executor/device_backend.h"

#include <memory>
#include <string>

namespace weft::cuda {

/// True when this runtime was built with the CUDA toolkit.
bool BuiltWithCuda();

/// The number of CUDA GPUs this process sees (at least 1), or Unavailable
/// with one line that starts "no CUDA GPU: " and gives cudaGetDeviceCount's
/// answer (or says the runtime was built without CUDA). GPU tests skip with
/// this message.
absl::StatusOr<int> CountGpus();

/// Whether Runtime::Create({.backend = "cuda"}) can work here: OK with a
/// GPU, else one line saying why not (built without CUDA, no GPU).
absl::Status BackendStatus();

/// The GPUs this process sees, one line: "0: NVIDIA H100 80GB HBM3, sm_90,
/// 79.1 GiB; ...", for weft-run's banner and errors.
std::string DescribeGpus();

/// The cuda backend of a loaded program (runtime/cuda/executor.cc).
/// `communicator`: "auto", "nccl" (a GPU per rank, or NCCL over MPI across
/// processes) or "cuda-inprocess" (every rank a virtual device on GPU 0).
absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateCudaBackend(const DeviceBackendContext &ctx,
                                                                 const std::string &communicator);

}  // namespace weft::cuda

#endif

// A backend whose ranks run on devices rather than on the host's cores: the
// cuda backend (runtime/cuda/executor.cc). Program keeps the host's side of
// a run: binding inputs and outputs to host memory, assembling split and
// gathered outputs, and parameters on the host for initialising, loading
// and saving. The backend mirrors parameters and optimizer state on its
// devices, and moves them only when one side changed them: a training run
// keeps them on the devices from step to step.
#ifndef WEFT_RUNTIME_EXECUTOR_DEVICE_BACKEND_H
#define WEFT_RUNTIME_EXECUTOR_DEVICE_BACKEND_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/artifact/reader.h"
#include "weft/tensor.h"

namespace weft {

struct Rank;

/// What a backend needs of the loaded program; it outlives the backend.
struct DeviceBackendContext {
  const artifact::Artifact *art = nullptr;
  std::vector<Rank> *ranks = nullptr;             // this process's ranks
  const std::vector<Tensor> *constants = nullptr;
  std::vector<int> extent, stride;                // per mesh axis (program_impl.h)
  bool mpi = false;                               // one rank per process
  double collective_timeout_s = 600;
};

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  /// One step of local rank `local`, on its own thread: inputs are read from
  /// the host memory rank.ptr points at, outputs written there.
  virtual absl::Status RunRank(size_t local, Rank &rank, bool profiling) = 0;
  /// Before the host reads parameters or state: the devices' values, where
  /// a step changed them since the host last had them.
  virtual absl::Status PullState() = 0;
  /// After the host wrote parameters or state: copied to the devices before
  /// the next step.
  virtual void StateChangedOnHost() = 0;
  /// Device memory the program has used at most on its busiest device,
  /// measured (not the compiler's plan): 0 where unknown.
  virtual int64_t MeasuredPeakBytes() const { return 0; }
  /// Local rank `local` failed: its groups' other ranks stop waiting for it.
  virtual void Abort(size_t local, const std::string &why) = 0;
};

}  // namespace weft

#endif

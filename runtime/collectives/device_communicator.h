// A communicator whose buffers are device memory on one GPU and whose work
// runs on one CUDA stream: `nccl` (nccl.h) and `cuda-inprocess`
// (cuda_inprocess.h). The CUDA executor drives either through this.
#ifndef WEFT_RUNTIME_COLLECTIVES_DEVICE_COMMUNICATOR_H
#define WEFT_RUNTIME_COLLECTIVES_DEVICE_COMMUNICATOR_H

#include <cuda_runtime_api.h>

#include "runtime/collectives/communicator.h"

namespace weft {

class DeviceCommunicator : public Communicator {
 public:
  /// The GPU its buffers live on.
  virtual int device() const = 0;
  /// The stream its operations run on (a Device's communication stream when
  /// one was given at creation).
  virtual cudaStream_t stream() const = 0;
};

}  // namespace weft

#endif

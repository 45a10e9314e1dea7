// The cuda-inprocess communicator: several virtual devices share one GPU,
// one rank per thread, each rank with its own stream (and, in the executor,
// its own cuda::Device arena). NCCL refuses two ranks on one GPU; this lets
// dp, tp and pp programs, and their tests, run on a machine with one GPU.
//
// It is the in-process group algorithm (group.h, shared with `inprocess`)
// on device memory: copies are cudaMemcpyAsync device to device on the
// calling rank's stream, reductions are cuda::ReduceBuffers in rank order,
// and each rank synchronizes its stream before every barrier of the group,
// so no rank overwrites a buffer another still reads. Hence the contract of
// communicator.h exactly as inprocess keeps it:
//  - every call returns with its work complete (the stream synchronized);
//    the caller orders the work that produced the inputs before the call
//    (cuda::Device::CommWaitsForCompute when the stream is its comm stream);
//  - reductions add in rank order: identical on every rank and
//    bit-identical with the inprocess (CPU) communicator for the same inputs;
//  - counts are compared across ranks (a mismatch is an error on every rank);
//  - Send is buffered: it copies the message into a device staging buffer
//    (from a memory pool of the group) and returns; Recv copies it out;
//  - a timeout or Abort releases every rank, and a rank whose CUDA call
//    fails, or that is handed memory that is not on the group's GPU, aborts
//    the group with the reason.
// Every buffer must be device (or managed) memory on the group's GPU.
#ifndef WEFT_RUNTIME_COLLECTIVES_CUDA_INPROCESS_H
#define WEFT_RUNTIME_COLLECTIVES_CUDA_INPROCESS_H

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "runtime/collectives/device_communicator.h"

namespace weft {

/// `size` ranks on GPU `device`, each driven by its own thread. `streams`,
/// when given, holds rank i's stream (a cuda::Device's comm stream) and must
/// outlive the group; otherwise the group makes one stream per rank.
absl::StatusOr<std::vector<std::unique_ptr<DeviceCommunicator>>> CreateCudaInProcessGroup(
    int size, int device, std::vector<cudaStream_t> streams = {}, double timeout_s = 600);

}  // namespace weft

#endif

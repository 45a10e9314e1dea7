// The nccl communicator: weft::Communicator (communicator.h) for GPUs. Every
// buffer passed to it is device memory on the communicator's GPU.
//
// Each call enqueues its NCCL operation on the communicator's stream and
// waits for it, polling under the collective timeout, so callers see the
// same contract as inprocess and mpi, except that:
//  - Send waits for the matching Recv (NCCL's point to point is a
//    rendezvous), like MPI_Send of a large message: a schedule must pair
//    them, as the pipeline's deadlock check proves;
//  - counts are not compared across ranks (NCCL cannot): mismatched calls
//    hang until the timeout instead of failing at once;
//  - reductions are NCCL's: identical on every rank, but not added in rank
//    order, so not bit-identical with the CPU communicators.
// A rank that fails or times out aborts the group: in one process the other
// ranks' waits return Aborted with its reason; across processes it ends the
// job through the bootstrap communicator (MPI_Abort), as mpi.cc does.
#ifndef WEFT_RUNTIME_COLLECTIVES_NCCL_H
#define WEFT_RUNTIME_COLLECTIVES_NCCL_H

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "runtime/collectives/device_communicator.h"

namespace weft {

class NcclCommunicator : public DeviceCommunicator {};

/// One process, one thread per GPU: rank i on GPU devices[i], created
/// together by ncclCommInitAll. Each communicator is then driven by its own
/// thread. `streams`, when given, holds rank i's stream; otherwise each makes
/// its own. NCCL wants a distinct GPU per rank.
absl::StatusOr<std::vector<std::unique_ptr<NcclCommunicator>>> CreateNcclGroup(
    const std::vector<int> &devices, double timeout_s = 600,
    const std::vector<cudaStream_t> &streams = {});

/// Several processes (mpirun/srun, across nodes): this process is
/// `bootstrap`'s rank, on GPU `device`. Rank 0 makes NCCL's unique id and
/// `bootstrap` (the MPI communicator) broadcasts it; every rank of
/// `bootstrap` must call this, and `bootstrap` must outlive the result.
absl::StatusOr<std::unique_ptr<NcclCommunicator>> CreateNcclCommunicator(
    Communicator &bootstrap, int device, double timeout_s = 600, cudaStream_t stream = nullptr);

}  // namespace weft

#endif

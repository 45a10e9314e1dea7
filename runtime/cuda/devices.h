// The devices of a program: one Device per rank, each with the arena its
// rank's memory plan asks for (RankProgram.arena_bytes in the artifact).
// Rank r runs on GPU r % gpus: with fewer GPUs than ranks, several ranks
// share a GPU as virtual devices (own streams, own arena), which is how the
// multi-rank logic runs on the lent single-GPU machines.
#ifndef WEFT_RUNTIME_CUDA_DEVICES_H
#define WEFT_RUNTIME_CUDA_DEVICES_H

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact_generated.h"
#include "runtime/cuda/device.h"

namespace weft::cuda {

/// The arena bytes of each rank's program, in rank order.
std::vector<int64_t> ArenaPlan(const fb::Artifact &artifact);

/// The GPU that rank `rank` runs on, out of `gpus`.
inline int GpuOfRank(int rank, int gpus) { return rank % gpus; }

/// One Device per entry of `arena_bytes` (rank order) over `gpus` GPUs.
/// Before allocating anything it checks that each GPU's ranks fit in its
/// free memory, and says which ranks do not.
absl::StatusOr<std::vector<std::unique_ptr<Device>>> CreateDevices(
    const std::vector<int64_t> &arena_bytes, int gpus);

}  // namespace weft::cuda

#endif

#include "runtime/cuda/devices.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/cuda/check.h"

namespace weft::cuda {

std::vector<int64_t> ArenaPlan(const fb::Artifact &artifact) {
  std::vector<int64_t> bytes;
  if (artifact.ranks())
    for (const fb::RankProgram *r : *artifact.ranks())
      bytes.push_back(static_cast<int64_t>(r->arena_bytes()));
  return bytes;
}

absl::StatusOr<std::vector<std::unique_ptr<Device>>> CreateDevices(
    const std::vector<int64_t> &arena_bytes, int gpus) {
  if (gpus < 1) return absl::InvalidArgumentError(absl::StrCat(gpus, " GPUs"));
  const int ranks = static_cast<int>(arena_bytes.size());
  // Refuse a plan that cannot fit before allocating any of it: a partial
  // allocation would only fail later, with less said.
  for (int g = 0; g < std::min(gpus, ranks); ++g) {
    int64_t need = 0;
    std::vector<int> on_gpu;
    for (int r = 0; r < ranks; ++r)
      if (GpuOfRank(r, gpus) == g) {
        need += arena_bytes[r];
        on_gpu.push_back(r);
      }
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(g));
    size_t free_bytes = 0, total = 0;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total));
    if (need > static_cast<int64_t>(free_bytes))
      return absl::ResourceExhaustedError(absl::StrCat(
          "the arenas of rank(s) ", absl::StrJoin(on_gpu, ", "), " need ", need,
          " bytes on GPU ", g, ", which has ", free_bytes, " of ", total, " bytes free"));
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (int r = 0; r < ranks; ++r) {
    auto d = Device::Create(GpuOfRank(r, gpus), arena_bytes[r]);
    if (!d.ok())
      return absl::Status(d.status().code(), absl::StrCat("rank ", r, ": ", d.status().message()));
    devices.push_back(std::move(*d));
  }
  return devices;
}

}  // namespace weft::cuda

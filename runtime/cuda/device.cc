#include "runtime/cuda/device.h"

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"
#include "runtime/poison.h"

namespace weft::cuda {

absl::StatusOr<std::unique_ptr<Device>> Device::Create(int ordinal, int64_t arena_bytes) {
  if (arena_bytes < 0)
    return absl::InvalidArgumentError(absl::StrCat("arena of ", arena_bytes, " bytes"));
  std::unique_ptr<Device> d(new Device(ordinal));
  WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  // Non-blocking: neither stream waits for the legacy default stream, which
  // other libraries in the process may use.
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&d->compute_, cudaStreamNonBlocking));
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&d->comm_, cudaStreamNonBlocking));
  // Ordering only: no timing, which makes record and wait cheaper.
  WEFT_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&d->compute_done_, cudaEventDisableTiming));
  WEFT_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&d->comm_done_, cudaEventDisableTiming));
  if (arena_bytes > 0) {
    if (absl::Status s = WEFT_CUDA_STATUS(cudaMalloc(&d->arena_, arena_bytes)); !s.ok()) {
      size_t free_bytes = 0, total = 0;
      cudaMemGetInfo(&free_bytes, &total);
      return absl::ResourceExhaustedError(absl::StrCat(
          "the memory plan's arena of ", arena_bytes, " bytes does not fit on GPU ", ordinal, " (",
          free_bytes, " of ", total, " bytes free): ", s.message()));
    }
    d->arena_bytes_ = arena_bytes;
    if (PoisonMemory()) {  // done before any stream can touch the arena
      WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d->arena_, 0xFF, arena_bytes, d->compute_));
      WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(d->compute_));
    }
  }
  return d;
}

Device::~Device() {
  // Nothing can be reported from here; a failure has already shown up in
  // the last Synchronize of a run that checked.
  if (cudaSetDevice(ordinal_) != cudaSuccess) return;
  if (compute_) cudaStreamSynchronize(compute_);
  if (comm_) cudaStreamSynchronize(comm_);
  if (arena_) cudaFree(arena_);
  if (compute_done_) cudaEventDestroy(compute_done_);
  if (comm_done_) cudaEventDestroy(comm_done_);
  if (compute_) cudaStreamDestroy(compute_);
  if (comm_) cudaStreamDestroy(comm_);
  cudaGetLastError();
}

absl::StatusOr<void *> Device::ArenaAt(int64_t offset, int64_t bytes) const {
  if (offset < 0 || bytes < 0 || offset > arena_bytes_ || bytes > arena_bytes_ - offset)
    return absl::OutOfRangeError(absl::StrCat("bytes [", offset, ", ", offset + bytes,
                                              ") are outside the arena of ", arena_bytes_,
                                              " bytes on GPU ", ordinal_));
  return static_cast<char *>(arena_) + offset;
}

absl::Status Device::CommWaitsForCompute() {
  WEFT_CUDA_RETURN_IF_ERROR(cudaEventRecord(compute_done_, compute_));
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(comm_, compute_done_, 0));
  return absl::OkStatus();
}

absl::Status Device::ComputeWaitsForComm() {
  WEFT_CUDA_RETURN_IF_ERROR(cudaEventRecord(comm_done_, comm_));
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(compute_, comm_done_, 0));
  return absl::OkStatus();
}

absl::Status Device::MakeCurrent() const {
  WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal_));
  return absl::OkStatus();
}

absl::Status Device::Synchronize() const {
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_));
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(comm_));
  return absl::OkStatus();
}

absl::Status Device::Copy(void *dst, const void *src, int64_t bytes, cudaMemcpyKind kind) const {
  if (bytes == 0) return absl::OkStatus();
  WEFT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, bytes, kind, compute_));
  WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_));
  return absl::OkStatus();
}

}  // namespace weft::cuda

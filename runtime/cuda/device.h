// One CUDA device of a program: the activation arena that the compiler's
// memory plan lays out (one cudaMalloc, offsets from the artifact), a compute
// stream for kernels and a communication stream for collectives, ordered by
// events so that a collective starts after the compute that feeds it and the
// compute that reads its result starts after it, with no host wait between.
//
// A Device is driven by one thread (its rank's); Create makes its GPU the
// thread's current one. Several Devices may share one GPU (virtual devices:
// the lent machines have a single GPU); each then has its own streams and
// arena.
#ifndef WEFT_RUNTIME_CUDA_DEVICE_H
#define WEFT_RUNTIME_CUDA_DEVICE_H

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::cuda {

class Device {
 public:
  /// Makes GPU `ordinal` current on this thread, allocates an arena of
  /// `arena_bytes` (filled with 0xFF, NaN in every float format, when
  /// WEFT_POISON_MEMORY is set, as the CPU backend does), and creates the two
  /// streams and their events.
  static absl::StatusOr<std::unique_ptr<Device>> Create(int ordinal, int64_t arena_bytes);
  ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  int ordinal() const { return ordinal_; }
  int64_t arena_bytes() const { return arena_bytes_; }
  /// `bytes` of the arena at `offset`, checked to lie inside it: the memory
  /// plan's offsets come from a file.
  absl::StatusOr<void *> ArenaAt(int64_t offset, int64_t bytes) const;

  cudaStream_t compute_stream() const { return compute_; }
  cudaStream_t comm_stream() const { return comm_; }

  /// Work enqueued on the communication stream from now on waits for the
  /// compute work enqueued so far (a collective after the kernels that
  /// produce its input).
  absl::Status CommWaitsForCompute();
  /// The reverse: compute enqueued from now on waits for the collectives
  /// enqueued so far (a kernel that reads a collective's result).
  absl::Status ComputeWaitsForComm();

  /// Makes this device's GPU current on the calling thread.
  absl::Status MakeCurrent() const;
  /// Waits for both streams; errors from kernels that ran show up here.
  absl::Status Synchronize() const;

  /// Copies on the compute stream and waits for the copy: for inputs,
  /// parameters and outputs, and for tests.
  absl::Status CopyToDevice(void *device_dst, const void *host_src, int64_t bytes) const {
    return Copy(device_dst, host_src, bytes, cudaMemcpyHostToDevice);
  }
  absl::Status CopyToHost(void *host_dst, const void *device_src, int64_t bytes) const {
    return Copy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost);
  }

 private:
  explicit Device(int ordinal) : ordinal_(ordinal) {}
  absl::Status Copy(void *dst, const void *src, int64_t bytes, cudaMemcpyKind kind) const;
  int ordinal_;
  int64_t arena_bytes_ = 0;
  void *arena_ = nullptr;
  cudaStream_t compute_ = nullptr, comm_ = nullptr;
  cudaEvent_t compute_done_ = nullptr, comm_done_ = nullptr;
};

}  // namespace weft::cuda

#endif

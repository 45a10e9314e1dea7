// The conformance checks (tests/runtime/CommunicatorChecks.h) hand host
// buffers; the device communicators (nccl, cuda-inprocess) want device
// buffers. HostStaged wraps one:
// each call copies its inputs to the rank's GPU, runs there, and copies the
// result back, so the same checks run on device memory unchanged.
#ifndef WEFT_TESTS_GPU_HOSTSTAGED_H
#define WEFT_TESTS_GPU_HOSTSTAGED_H

#include <gtest/gtest.h>

#include <functional>

#include "runtime/collectives/device_communicator.h"
#include "runtime/cuda/check.h"

namespace weft {

// Device memory on one GPU, freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) {
    if (bytes) EXPECT_TRUE(WEFT_CUDA_STATUS(cudaMalloc(&p_, bytes)).ok());
  }
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  void *get() const { return p_; }

 private:
  void *p_ = nullptr;
};

// The conformance checks' host buffers, staged through the rank's GPU.
// Copies go on the communicator's stream, so they are ordered with its work.
class HostStaged final : public Communicator {
 public:
  explicit HostStaged(DeviceCommunicator &inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    return Staged(send, count, recv, count, dtype, [&](const void *s, void *r) {
      return inner_.AllReduce(s, r, count, dtype, kind);
    });
  }
  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    return Staged(send, count, recv, count * size(), dtype,
                  [&](const void *s, void *r) { return inner_.AllGather(s, r, count, dtype); });
  }
  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    return Staged(send, count * size(), recv, count, dtype, [&](const void *s, void *r) {
      return inner_.ReduceScatter(s, r, count, dtype, kind);
    });
  }
  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    return Staged(buf, count, buf, count, dtype,
                  [&](const void *, void *r) { return inner_.Broadcast(r, count, dtype, root); });
  }
  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    return Staged(send, count * size(), recv, count * size(), dtype,
                  [&](const void *s, void *r) { return inner_.AllToAll(s, r, count, dtype); });
  }
  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    return Staged(buf, count, nullptr, 0, dtype,
                  [&](const void *s, void *) { return inner_.Send(s, count, dtype, peer); });
  }
  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    return Staged(nullptr, 0, buf, count, dtype,
                  [&](const void *, void *r) { return inner_.Recv(r, count, dtype, peer); });
  }
  absl::Status Barrier() override { return inner_.Barrier(); }
  void Abort(const std::string &why) override { inner_.Abort(why); }

 private:
  // Copies `in` (in_count elements) to the device, runs `op` on device
  // buffers (one buffer when the host call was in place), copies `out` back.
  absl::Status Staged(const void *in, int64_t in_count, void *out, int64_t out_count, DType dtype,
                      const std::function<absl::Status(const void *, void *)> &op) {
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(inner_.device()));
    const size_t in_bytes = in_count * DTypeSize(dtype), out_bytes = out_count * DTypeSize(dtype);
    const bool in_place = in == out;
    DeviceBuffer d_in(in_bytes), d_out(in_place ? 0 : out_bytes);
    void *d_result = in_place ? d_in.get() : d_out.get();
    cudaStream_t s = inner_.stream();
    if (in_bytes)
      WEFT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(d_in.get(), in, in_bytes, cudaMemcpyHostToDevice, s));
    if (!in_place && out_bytes)  // poisoned: an element the communicator does not write shows up
      WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d_out.get(), 0xFF, out_bytes, s));
    if (absl::Status st = op(d_in.get(), d_result); !st.ok()) return st;
    if (out_bytes)
      WEFT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out, d_result, out_bytes, cudaMemcpyDeviceToHost, s));
    WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));
    return absl::OkStatus();
  }
  DeviceCommunicator &inner_;
};

}  // namespace weft

#endif

// The cuda-inprocess communicator (cuda_inprocess.h): the group algorithm of
// group.cc with a device memory back end on one GPU.
#include "runtime/collectives/cuda_inprocess.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "runtime/collectives/group.h"
#include "runtime/cuda/backend.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"

namespace weft {
namespace {

// What the ranks of one group share on the GPU: the pool that scratch and
// staging buffers come from, and the streams the group made. Every buffer
// from the pool holds it, so it outlives undelivered messages too.
struct GpuResources {
  explicit GpuResources(int device) : device(device) {}
  ~GpuResources() {
    // Nothing can report a failure from here; a broken context shows up in
    // the next call that can.
    int current = device;
    (void)WEFT_CUDA_STATUS(cudaGetDevice(&current));
    (void)WEFT_CUDA_STATUS(cudaSetDevice(device));
    for (cudaStream_t s : owned_streams) (void)WEFT_CUDA_STATUS(cudaStreamDestroy(s));
    // Deferred by CUDA until frees still in flight on a stream complete.
    if (pool) (void)WEFT_CUDA_STATUS(cudaMemPoolDestroy(pool));
    (void)WEFT_CUDA_STATUS(cudaSetDevice(current));  // the thread's GPU as it was
  }
  const int device;
  cudaMemPool_t pool = nullptr;
  std::vector<cudaStream_t> owned_streams;
};

const char *MemoryTypeName(cudaMemoryType t) {
  switch (t) {
    case cudaMemoryTypeUnregistered: return "host memory";
    case cudaMemoryTypeHost: return "pinned host memory";
    case cudaMemoryTypeDevice: return "device memory";
    case cudaMemoryTypeManaged: return "managed memory";
  }
  return "unknown memory";
}

class DeviceMemory final : public collectives::MemoryOps {
 public:
  DeviceMemory(std::shared_ptr<GpuResources> gpu, int rank, cudaStream_t stream)
      : gpu_(std::move(gpu)), rank_(rank), stream_(stream) {}

  absl::Status Enter() override {
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(gpu_->device));
    return absl::OkStatus();
  }

  absl::Status CheckBuffer(const void *p, size_t bytes, const char *role) override {
    cudaPointerAttributes a;
    if (absl::Status s = WEFT_CUDA_STATUS(cudaPointerGetAttributes(&a, p)); !s.ok()) {
      cudaGetLastError();  // not sticky: keep it from a later launch's check
      return s;
    }
    if (a.type == cudaMemoryTypeManaged || (a.type == cudaMemoryTypeDevice && a.device == gpu_->device))
      return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "cuda-inprocess rank ", rank_, ": the ", role, " (", bytes, " bytes at ",
        reinterpret_cast<uintptr_t>(p), ") is ", MemoryTypeName(a.type),
        a.type == cudaMemoryTypeDevice ? absl::StrCat(" of GPU ", a.device) : "",
        ", not device memory on the group's GPU ", gpu_->device));
  }

  absl::StatusOr<collectives::Bytes> Allocate(size_t bytes) override {
    void *p = nullptr;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMallocFromPoolAsync(&p, bytes, gpu_->pool, stream_));
    collectives::Bytes b;
    // Scratch is freed in this rank's stream order when the collective
    // ends, where no failure can be returned (a broken stream shows in the
    // next Settle). A delivered message goes through Release instead; an
    // undelivered one is freed here when the group goes.
    b.data = {p, [gpu = gpu_, stream = stream_](void *q) {
                (void)WEFT_CUDA_STATUS(cudaFreeAsync(q, stream));
              }};
    b.size = bytes;
    return b;
  }

  // Another rank's staging buffer, freed on this rank's stream after the
  // copy out of it: the sender synchronized its stream before posting it, so
  // the allocation is complete and usable on any stream.
  absl::Status Release(collectives::Bytes bytes) override {
    WEFT_CUDA_RETURN_IF_ERROR(cudaFreeAsync(bytes.data.release(), stream_));
    return absl::OkStatus();
  }

  absl::Status Copy(void *dst, const void *src, size_t bytes) override {
    if (dst == src || bytes == 0) return absl::OkStatus();
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
    return absl::OkStatus();
  }

  absl::Status Reduce(const std::vector<const void *> &parts, void *dst, int64_t count, DType dtype,
                      ReduceKind kind) override {
    if (count == 0) return absl::OkStatus();
    return cuda::ReduceBuffers(parts.data(), static_cast<int>(parts.size()), dst, count, dtype,
                               static_cast<int>(kind), stream_);
  }

  absl::Status Settle() override {
    WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<GpuResources> gpu_;
  const int rank_;
  const cudaStream_t stream_;
};

// A rank of the group with its GPU and stream; the collectives are the
// group's.
class CudaInProcess final : public DeviceCommunicator {
 public:
  CudaInProcess(std::unique_ptr<Communicator> member, std::shared_ptr<GpuResources> gpu,
                cudaStream_t stream)
      : member_(std::move(member)), gpu_(std::move(gpu)), stream_(stream) {}
  int device() const override { return gpu_->device; }
  cudaStream_t stream() const override { return stream_; }

  int rank() const override { return member_->rank(); }
  int size() const override { return member_->size(); }
  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    return member_->AllReduce(send, recv, count, dtype, kind);
  }
  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    return member_->AllGather(send, recv, count, dtype);
  }
  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    return member_->ReduceScatter(send, recv, count, dtype, kind);
  }
  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    return member_->Broadcast(buf, count, dtype, root);
  }
  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    return member_->AllToAll(send, recv, count, dtype);
  }
  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    return member_->Send(buf, count, dtype, peer);
  }
  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    return member_->Recv(buf, count, dtype, peer);
  }
  absl::Status FinishSends() override { return member_->FinishSends(); }
  absl::Status Barrier() override { return member_->Barrier(); }
  void Abort(const std::string &why) override { member_->Abort(why); }

 private:
  std::unique_ptr<Communicator> member_;
  std::shared_ptr<GpuResources> gpu_;
  const cudaStream_t stream_;
};

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<DeviceCommunicator>>> CreateCudaInProcessGroup(
    int size, int device, std::vector<cudaStream_t> streams, double timeout_s) {
  if (size < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("cuda-inprocess: a group of ", size, " ranks; it needs at least 1"));
  if (!streams.empty() && static_cast<int>(streams.size()) != size)
    return absl::InvalidArgumentError(absl::StrCat("cuda-inprocess: ", streams.size(),
                                                   " streams for a group of ", size, " ranks"));
  absl::StatusOr<int> gpus = cuda::CountGpus();
  if (!gpus.ok()) return gpus.status();
  if (device < 0 || device >= *gpus)
    return absl::InvalidArgumentError(absl::StrCat("cuda-inprocess: no GPU ", device,
                                                   "; this machine has ", *gpus));
  WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  auto gpu = std::make_shared<GpuResources>(device);
  cudaMemPoolProps props = {};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  WEFT_CUDA_RETURN_IF_ERROR(cudaMemPoolCreate(&gpu->pool, &props));
  // Keep freed memory in the pool: each collective allocates its scratch
  // anew, and a stream synchronization would otherwise hand it back.
  uint64_t keep = UINT64_MAX;
  WEFT_CUDA_RETURN_IF_ERROR(cudaMemPoolSetAttribute(gpu->pool, cudaMemPoolAttrReleaseThreshold, &keep));
  if (streams.empty()) {
    for (int r = 0; r < size; ++r) {
      cudaStream_t s = nullptr;
      WEFT_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      gpu->owned_streams.push_back(s);
    }
    streams = gpu->owned_streams;
  }
  std::vector<std::unique_ptr<collectives::MemoryOps>> ops;
  for (int r = 0; r < size; ++r) ops.push_back(std::make_unique<DeviceMemory>(gpu, r, streams[r]));
  std::vector<std::unique_ptr<Communicator>> members = collectives::CreateGroup(std::move(ops), timeout_s);
  std::vector<std::unique_ptr<DeviceCommunicator>> group;
  for (int r = 0; r < size; ++r)
    group.push_back(std::make_unique<CudaInProcess>(std::move(members[r]), gpu, streams[r]));
  return group;
}

}  // namespace weft

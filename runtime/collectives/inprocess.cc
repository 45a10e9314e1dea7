// The in-process communicator: ranks are threads sharing host memory. The
// group algorithm (rendezvous, timeouts, Abort, mailboxes) is group.cc; this
// file is its host memory back end: memmove, and reductions on the CPU in
// rank order (so every rank's result is bit-identical).
#include <cstring>

#include "runtime/collectives/communicator.h"
#include "runtime/collectives/group.h"
#include "runtime/cpu/kernels.h"

namespace weft {
namespace {

double Load(const void *p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float *>(p)[i];
    case DType::kBF16: return cpu::Bf16ToF32(static_cast<const uint16_t *>(p)[i]);
    case DType::kF16: return cpu::F16ToF32(static_cast<const uint16_t *>(p)[i]);
    case DType::kI32: return static_cast<const int32_t *>(p)[i];
    case DType::kI64: return static_cast<double>(static_cast<const int64_t *>(p)[i]);
  }
  return 0;
}

void Store(void *p, DType t, int64_t i, double v) {
  switch (t) {
    case DType::kF32: static_cast<float *>(p)[i] = static_cast<float>(v); break;
    case DType::kBF16: static_cast<uint16_t *>(p)[i] = cpu::F32ToBf16(static_cast<float>(v)); break;
    case DType::kF16: static_cast<uint16_t *>(p)[i] = cpu::F32ToF16(static_cast<float>(v)); break;
    case DType::kI32: static_cast<int32_t *>(p)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t *>(p)[i] = static_cast<int64_t>(v); break;
  }
}

// Element i of the reduction over ranks, in rank order. f32 adds in float,
// as a GPU all-reduce would; i64 sums exactly.
template <typename T>
T Reduce(const std::vector<const void *> &bufs, int64_t i, ReduceKind kind) {
  T acc = static_cast<const T *>(bufs[0])[i];
  for (size_t r = 1; r < bufs.size(); ++r) {
    T v = static_cast<const T *>(bufs[r])[i];
    switch (kind) {
      case ReduceKind::kSum:
      case ReduceKind::kAverage: acc += v; break;
      case ReduceKind::kMax: acc = v > acc ? v : acc; break;
      case ReduceKind::kMin: acc = v < acc ? v : acc; break;
    }
  }
  if (kind == ReduceKind::kAverage) acc = static_cast<T>(acc / static_cast<T>(bufs.size()));
  return acc;
}

// dst[i] = the reduction of send[0][i], send[1][i], ... for i < count.
void ReduceRange(const std::vector<const void *> &send, int64_t count, DType t, ReduceKind kind,
                 void *dst) {
  for (int64_t i = 0; i < count; ++i) {
    switch (t) {
      case DType::kF32:
        static_cast<float *>(dst)[i] = Reduce<float>(send, i, kind);
        break;
      case DType::kI32:
        static_cast<int32_t *>(dst)[i] = Reduce<int32_t>(send, i, kind);
        break;
      case DType::kI64:
        static_cast<int64_t *>(dst)[i] = Reduce<int64_t>(send, i, kind);
        break;
      default: {  // bf16 / f16: widen to float in rank order
        float acc = static_cast<float>(Load(send[0], t, i));
        for (size_t r = 1; r < send.size(); ++r) {
          float v = static_cast<float>(Load(send[r], t, i));
          acc = kind == ReduceKind::kMax   ? std::max(acc, v)
                : kind == ReduceKind::kMin ? std::min(acc, v)
                                           : acc + v;
        }
        if (kind == ReduceKind::kAverage) acc /= static_cast<float>(send.size());
        Store(dst, t, i, acc);
      }
    }
  }
}

class HostMemory final : public collectives::MemoryOps {
 public:
  absl::StatusOr<collectives::Bytes> Allocate(size_t bytes) override {
    collectives::Bytes b;
    b.data = {new char[bytes], [](void *p) { delete[] static_cast<char *>(p); }};
    b.size = bytes;
    return b;
  }
  absl::Status Copy(void *dst, const void *src, size_t bytes) override {
    if (dst != src) std::memmove(dst, src, bytes);  // in place: a rank's slot of its own recv
    return absl::OkStatus();
  }
  absl::Status Reduce(const std::vector<const void *> &parts, void *dst, int64_t count, DType dtype,
                      ReduceKind kind) override {
    ReduceRange(parts, count, dtype, kind, dst);
    return absl::OkStatus();
  }
  absl::Status Settle() override { return absl::OkStatus(); }  // every copy is done on return
};

}  // namespace

std::unique_ptr<collectives::MemoryOps> collectives::NewHostMemoryOps() {
  return std::make_unique<HostMemory>();
}

std::vector<std::unique_ptr<Communicator>> CreateInProcessGroup(int size, double timeout_s) {
  std::vector<std::unique_ptr<collectives::MemoryOps>> ops;
  for (int r = 0; r < size; ++r) ops.push_back(collectives::NewHostMemoryOps());
  return collectives::CreateGroup(std::move(ops), timeout_s);
}

}  // namespace weft

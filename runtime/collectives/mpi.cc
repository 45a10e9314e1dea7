// The MPI communicator: one rank per process (mpirun -np N weft-run ...),
// on CPUs across processes and nodes, and later the bootstrap of NCCL.
// Open MPI from Debian. bf16 and f16 have no MPI type: they are widened to
// f32 for the reduction and narrowed back.
#include <mpi.h>

#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/collectives/communicator.h"
#include "runtime/cpu/kernels.h"

namespace weft {
namespace {

absl::Status Check(int code, const char *call) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return absl::InternalError(absl::StrCat(call, " failed: ", std::string(text, len)));
}
#define WEFT_MPI(call) \
  if (absl::Status _s = Check((call), #call); !_s.ok()) return _s

MPI_Datatype TypeOf(DType t) {
  switch (t) {
    case DType::kF32: return MPI_FLOAT;
    case DType::kI32: return MPI_INT32_T;
    case DType::kI64: return MPI_INT64_T;
    default: return MPI_FLOAT;  // bf16/f16 travel widened
  }
}

MPI_Op OpOf(ReduceKind k) {
  switch (k) {
    case ReduceKind::kMax: return MPI_MAX;
    case ReduceKind::kMin: return MPI_MIN;
    default: return MPI_SUM;  // average = sum / size
  }
}

bool Narrow(DType t) { return t == DType::kBF16 || t == DType::kF16; }

std::vector<float> Widen(const void *p, DType t, int64_t n) {
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = t == DType::kBF16 ? cpu::Bf16ToF32(static_cast<const uint16_t *>(p)[i])
                               : cpu::F16ToF32(static_cast<const uint16_t *>(p)[i]);
  return out;
}

void NarrowInto(const float *src, void *p, DType t, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    static_cast<uint16_t *>(p)[i] = t == DType::kBF16 ? cpu::F32ToBf16(src[i]) : cpu::F32ToF16(src[i]);
}

template <typename T>
void Divide(void *p, int64_t n, int by) {
  for (int64_t i = 0; i < n; ++i) static_cast<T *>(p)[i] /= by;
}

class Mpi final : public Communicator {
 public:
  explicit Mpi(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    if (Narrow(dtype)) {
      std::vector<float> wide = Widen(send, dtype, count);
      WEFT_MPI(MPI_Allreduce(MPI_IN_PLACE, wide.data(), count, MPI_FLOAT, OpOf(kind), comm_));
      if (kind == ReduceKind::kAverage) Divide<float>(wide.data(), count, size_);
      NarrowInto(wide.data(), recv, dtype, count);
      return absl::OkStatus();
    }
    WEFT_MPI(MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, count, TypeOf(dtype), OpOf(kind),
                           comm_));
    if (kind == ReduceKind::kAverage) {
      if (dtype == DType::kF32) Divide<float>(recv, count, size_);
      if (dtype == DType::kI32) Divide<int32_t>(recv, count, size_);
      if (dtype == DType::kI64) Divide<int64_t>(recv, count, size_);
    }
    return absl::OkStatus();
  }

  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    const int bytes = static_cast<int>(count * DTypeSize(dtype));
    WEFT_MPI(MPI_Allgather(send, bytes, MPI_BYTE, recv, bytes, MPI_BYTE, comm_));
    return absl::OkStatus();
  }

  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    if (Narrow(dtype)) {
      std::vector<float> wide = Widen(send, dtype, count * size_), mine(count);
      WEFT_MPI(MPI_Reduce_scatter_block(wide.data(), mine.data(), count, MPI_FLOAT, OpOf(kind),
                                        comm_));
      if (kind == ReduceKind::kAverage) Divide<float>(mine.data(), count, size_);
      NarrowInto(mine.data(), recv, dtype, count);
      return absl::OkStatus();
    }
    WEFT_MPI(MPI_Reduce_scatter_block(send, recv, count, TypeOf(dtype), OpOf(kind), comm_));
    if (kind == ReduceKind::kAverage && dtype == DType::kF32) Divide<float>(recv, count, size_);
    return absl::OkStatus();
  }

  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    if (root < 0 || root >= size_)
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " of ", size_));
    WEFT_MPI(MPI_Bcast(buf, static_cast<int>(count * DTypeSize(dtype)), MPI_BYTE, root, comm_));
    return absl::OkStatus();
  }

  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    const int bytes = static_cast<int>(count * DTypeSize(dtype));
    WEFT_MPI(MPI_Alltoall(send == recv ? MPI_IN_PLACE : send, bytes, MPI_BYTE, recv, bytes, MPI_BYTE,
                          comm_));
    return absl::OkStatus();
  }

  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot send to ", peer));
    WEFT_MPI(MPI_Send(buf, static_cast<int>(count * DTypeSize(dtype)), MPI_BYTE, peer, 0, comm_));
    return absl::OkStatus();
  }

  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot receive from ", peer));
    MPI_Status status;
    WEFT_MPI(MPI_Recv(buf, static_cast<int>(count * DTypeSize(dtype)), MPI_BYTE, peer, 0, comm_,
                      &status));
    int got = 0;
    MPI_Get_count(&status, MPI_BYTE, &got);
    if (got != static_cast<int>(count * DTypeSize(dtype)))
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " expected ",
                                                     count * DTypeSize(dtype), " bytes from rank ",
                                                     peer, ", got ", got));
    return absl::OkStatus();
  }

  // The failed process returns its error and exits; mpirun then stops the
  // others (and MPI's default error handler aborts the job on a comm error).
  void Abort(const std::string &) override {}

  absl::Status Barrier() override {
    WEFT_MPI(MPI_Barrier(comm_));
    return absl::OkStatus();
  }

 private:
  MPI_Comm comm_;  // the world, or one mesh axis's group (freed by MPI_Finalize)
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool LaunchedUnderMpi() {
  for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char *v = std::getenv(var); v && std::atoi(v) > 1) return true;
  return false;
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator() {
  static std::once_flag once;
  static absl::Status init;
  std::call_once(once, [] {
    int provided = 0;
    init = Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    if (init.ok()) std::atexit([] { MPI_Finalize(); });
  });
  if (!init.ok()) return init;
  return std::unique_ptr<Communicator>(new Mpi());
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiSubCommunicator(int color, int key) {
  if (auto world = CreateMpiCommunicator(); !world.ok()) return world.status();  // MPI is up
  MPI_Comm sub;
  WEFT_MPI(MPI_Comm_split(MPI_COMM_WORLD, color, key, &sub));
  return std::unique_ptr<Communicator>(new Mpi(sub));
}

}  // namespace weft

// The MPI communicator: one rank per process (mpirun -np N weft-run ...),
// on CPUs across processes and nodes, and later the bootstrap of NCCL.
// Open MPI from Debian. bf16 and f16 have no MPI type: they are widened to
// f32 for the reduction and narrowed back.
//
// Every call is non-blocking (MPI_Iallreduce, MPI_Irecv, ...) and polled
// against the collective timeout (sends are buffered and waited for in
// FinishSends): blocking MPI calls wait forever for a rank that hangs.
// When the time runs out, or when this rank fails (Abort), the
// process says why on one line and calls MPI_Abort, which ends every
// process of the job: the pending request still owns the buffers and the
// peers cannot be released any other way.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <mutex>
#include <thread>

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
#define WEFT_RETURN_IF_ERROR(expr) \
  if (absl::Status _s = (expr); !_s.ok()) return _s

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

int WorldRank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int WorldSize() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// Ends the whole job: one line on stderr (each process has its own, so the
// cause is never left to rank 0), then MPI_Abort, which makes mpirun stop
// every process with a non-zero status.
[[noreturn]] void AbortJob(const std::string &why) {
  std::fprintf(stderr, "weft: error: %s (aborting all %d MPI processes)\n", why.c_str(), WorldSize());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; in case it does
}

// Waits for `request` until `timeout_s` has passed. It spins on MPI_Test
// (which also drives the transfer) for the first millisecond, as MPI_Wait
// would, then sleeps between polls so a long wait leaves the cores to the
// ranks still computing.
absl::Status WaitFor(MPI_Request *request, MPI_Status *status, double timeout_s,
                     const std::string &what, const std::string &whom = "the other ranks") {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  for (;;) {
    int done = 0;
    WEFT_MPI(MPI_Test(request, &done, status));
    if (done) return absl::OkStatus();
    const Clock::time_point now = Clock::now();
    if (now >= deadline)
      AbortJob(absl::StrCat("rank ", WorldRank(), ": ", what, " timed out after ", timeout_s,
                            " s waiting for ", whom, " (the collective timeout, weft-run --timeout)"));
    if (now - start > std::chrono::milliseconds(1))
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

class Mpi final : public Communicator {
 public:
  Mpi(MPI_Comm comm, double timeout_s) : comm_(comm), timeout_s_(timeout_s) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    if (Narrow(dtype)) {
      std::vector<float> wide = Widen(send, dtype, count);
      MPI_Request req;
      WEFT_MPI(MPI_Iallreduce(MPI_IN_PLACE, wide.data(), count, MPI_FLOAT, OpOf(kind), comm_, &req));
      WEFT_RETURN_IF_ERROR(Wait(&req, "AllReduce"));
      if (kind == ReduceKind::kAverage) Divide<float>(wide.data(), count, size_);
      NarrowInto(wide.data(), recv, dtype, count);
      return absl::OkStatus();
    }
    MPI_Request req;
    WEFT_MPI(MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, count, TypeOf(dtype),
                            OpOf(kind), comm_, &req));
    WEFT_RETURN_IF_ERROR(Wait(&req, "AllReduce"));
    if (kind == ReduceKind::kAverage) {
      if (dtype == DType::kF32) Divide<float>(recv, count, size_);
      if (dtype == DType::kI32) Divide<int32_t>(recv, count, size_);
      if (dtype == DType::kI64) Divide<int64_t>(recv, count, size_);
    }
    return absl::OkStatus();
  }

  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    const int bytes = static_cast<int>(count * DTypeSize(dtype));
    MPI_Request req;
    WEFT_MPI(MPI_Iallgather(send, bytes, MPI_BYTE, recv, bytes, MPI_BYTE, comm_, &req));
    WEFT_RETURN_IF_ERROR(Wait(&req, "AllGather"));
    return absl::OkStatus();
  }

  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    if (Narrow(dtype)) {
      std::vector<float> wide = Widen(send, dtype, count * size_), mine(count);
      MPI_Request req;
      WEFT_MPI(MPI_Ireduce_scatter_block(wide.data(), mine.data(), count, MPI_FLOAT, OpOf(kind),
                                         comm_, &req));
      WEFT_RETURN_IF_ERROR(Wait(&req, "ReduceScatter"));
      if (kind == ReduceKind::kAverage) Divide<float>(mine.data(), count, size_);
      NarrowInto(mine.data(), recv, dtype, count);
      return absl::OkStatus();
    }
    MPI_Request req;
    WEFT_MPI(MPI_Ireduce_scatter_block(send, recv, count, TypeOf(dtype), OpOf(kind), comm_, &req));
    WEFT_RETURN_IF_ERROR(Wait(&req, "ReduceScatter"));
    if (kind == ReduceKind::kAverage && dtype == DType::kF32) Divide<float>(recv, count, size_);
    return absl::OkStatus();
  }

  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    if (root < 0 || root >= size_)
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " of ", size_));
    MPI_Request req;
    WEFT_MPI(MPI_Ibcast(buf, static_cast<int>(count * DTypeSize(dtype)), MPI_BYTE, root, comm_, &req));
    WEFT_RETURN_IF_ERROR(Wait(&req, "Broadcast"));
    return absl::OkStatus();
  }

  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    const int bytes = static_cast<int>(count * DTypeSize(dtype));
    MPI_Request req;
    WEFT_MPI(MPI_Ialltoall(send == recv ? MPI_IN_PLACE : send, bytes, MPI_BYTE, recv, bytes,
                           MPI_BYTE, comm_, &req));
    WEFT_RETURN_IF_ERROR(Wait(&req, "AllToAll"));
    return absl::OkStatus();
  }

  // Buffered: the message is copied and posted (MPI_Isend), and the rank
  // computes on while it travels; FinishSends (at the end of the step at the
  // latest) waits for it under the timeout. A plain MPI_Send of a large
  // message would stall this rank until the peer posts its receive.
  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot send to ", peer));
    WEFT_RETURN_IF_ERROR(ReapSends());
    const size_t bytes = count * DTypeSize(dtype);
    pending_.emplace_back();
    PendingSend &p = pending_.back();  // stays put in the list while MPI reads it
    p.data.assign(static_cast<const char *>(buf), static_cast<const char *>(buf) + bytes);
    p.to = WorldRankOf(peer);
    WEFT_MPI(MPI_Isend(p.data.data(), static_cast<int>(bytes), MPI_BYTE, peer, 0, comm_, &p.request));
    return absl::OkStatus();
  }

  absl::Status FinishSends() override {
    while (!pending_.empty()) {
      PendingSend &p = pending_.front();
      WEFT_RETURN_IF_ERROR(Wait(&p.request, absl::StrCat("Send to rank ", p.to),
                                absl::StrCat("rank ", p.to)));
      pending_.pop_front();
    }
    return absl::OkStatus();
  }

  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot receive from ", peer));
    MPI_Status status;
    MPI_Request req;
    WEFT_MPI(MPI_Irecv(buf, static_cast<int>(count * DTypeSize(dtype)), MPI_BYTE, peer, 0, comm_, &req));
    const int from = WorldRankOf(peer);
    WEFT_RETURN_IF_ERROR(Wait(&req, absl::StrCat("Recv from rank ", from),
                              absl::StrCat("rank ", from), &status));
    int got = 0;
    MPI_Get_count(&status, MPI_BYTE, &got);
    if (got != static_cast<int>(count * DTypeSize(dtype)))
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " expected ",
                                                     count * DTypeSize(dtype), " bytes from rank ",
                                                     peer, ", got ", got));
    return absl::OkStatus();
  }

  // The other processes may be waiting for this one in a collective: the
  // job ends here, with this rank's error as the cause.
  void Abort(const std::string &why) override { AbortJob(why); }

  absl::Status Barrier() override {
    MPI_Request req;
    WEFT_MPI(MPI_Ibarrier(comm_, &req));
    return Wait(&req, "Barrier");
  }

 private:
  absl::Status Wait(MPI_Request *req, const std::string &what,
                    const std::string &whom = "the other ranks",
                    MPI_Status *status = MPI_STATUS_IGNORE) {
    return WaitFor(req, status, timeout_s_,
                   size_ == WorldSize() ? what : absl::StrCat(what, " (in a group of ", size_, ")"),
                   whom);
  }
  // A peer's rank in the world, for messages: groups number their own.
  int WorldRankOf(int peer) const {
    MPI_Group mine, world;
    MPI_Comm_group(comm_, &mine);
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int out = peer;
    MPI_Group_translate_ranks(mine, 1, &peer, world, &out);
    MPI_Group_free(&mine);
    MPI_Group_free(&world);
    return out;
  }

  // Frees the copies of the sends that have completed; MPI_Test also drives
  // the transfers of the others.
  absl::Status ReapSends() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      WEFT_MPI(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE));
      it = done ? pending_.erase(it) : std::next(it);
    }
    return absl::OkStatus();
  }

  struct PendingSend {
    std::vector<char> data;  // the copy MPI sends from
    MPI_Request request = MPI_REQUEST_NULL;
    int to = 0;              // the peer's world rank, for messages
  };
  std::list<PendingSend> pending_;
  MPI_Comm comm_;  // the world, or one mesh axis's group (freed by MPI_Finalize)
  double timeout_s_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool LaunchedUnderMpi() {
  for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char *v = std::getenv(var); v && std::atoi(v) > 1) return true;
  return false;
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(double timeout_s) {
  static std::once_flag once;
  static absl::Status init;
  std::call_once(once, [] {
    int provided = 0;
    init = Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    if (init.ok()) std::atexit([] { MPI_Finalize(); });
  });
  if (!init.ok()) return init;
  return std::unique_ptr<Communicator>(new Mpi(MPI_COMM_WORLD, timeout_s));
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiSubCommunicator(int color, int key,
                                                                       double timeout_s) {
  if (auto world = CreateMpiCommunicator(timeout_s); !world.ok()) return world.status();  // MPI is up
  // MPI_Comm_split blocks with no timeout and has no non-blocking form: a
  // barrier that has one first makes sure every process is there to split.
  MPI_Request req;
  WEFT_MPI(MPI_Ibarrier(MPI_COMM_WORLD, &req));
  WEFT_RETURN_IF_ERROR(WaitFor(&req, MPI_STATUS_IGNORE, timeout_s, "MPI_Comm_split (a mesh axis's group)"));
  MPI_Comm sub;
  WEFT_MPI(MPI_Comm_split(MPI_COMM_WORLD, color, key, &sub));
  return std::unique_ptr<Communicator>(new Mpi(sub, timeout_s));
}

}  // namespace weft

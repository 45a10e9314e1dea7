// The nccl communicator (nccl.h). NCCL 2.28 from /usr/local/cuda.
//
// Waiting is done here rather than in NCCL or CUDA: cudaStreamSynchronize
// waits forever for a peer that never comes, so every operation is polled
// (cudaStreamQuery and ncclCommGetAsyncError) against the collective timeout
// and the group's abort flag, and a stuck operation is cancelled with
// ncclCommAbort.
#include "runtime/collectives/nccl.h"

#include <nccl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"

namespace weft {
namespace {

using Clock = std::chrono::steady_clock;

#define WEFT_RETURN_IF_ERROR(expr) \
  if (absl::Status _s = (expr); !_s.ok()) return _s

// What the ranks of one group share inside this process: the first failure.
// Every rank's wait looks at it, so none waits for a rank that gave up.
struct GroupState {
  std::atomic<bool> aborted{false};
  std::mutex mu;
  std::string why;

  void Abort(const std::string &reason) {
    std::lock_guard<std::mutex> lock(mu);
    if (aborted.load()) return;  // the first reason is the cause
    why = reason;
    aborted.store(true);
  }
  std::string Why() {
    std::lock_guard<std::mutex> lock(mu);
    return why;
  }
};

absl::StatusOr<ncclDataType_t> TypeOf(DType t) {
  switch (t) {
    case DType::kF32: return ncclFloat32;
    case DType::kBF16: return ncclBfloat16;
    case DType::kF16: return ncclFloat16;
    case DType::kI32: return ncclInt32;
    case DType::kI64: return ncclInt64;
  }
  return absl::InvalidArgumentError(absl::StrCat("no NCCL type for dtype ", static_cast<int>(t)));
}

ncclRedOp_t OpOf(ReduceKind k) {
  switch (k) {
    case ReduceKind::kSum: return ncclSum;
    case ReduceKind::kAverage: return ncclAvg;
    case ReduceKind::kMax: return ncclMax;
    case ReduceKind::kMin: return ncclMin;
  }
  return ncclSum;
}

Clock::time_point DeadlineAfter(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// An error NCCL found while an operation ran, named like any failed call.
absl::Status AsyncStatus(ncclResult_t state) {
  return cuda::internal::Check(state, "ncclCommGetAsyncError(comm, &state) -> state", __FILE__,
                               __LINE__);
}

// Polls a non-blocking communicator until its last call has left
// ncclInProgress (creation, finalize, enqueue), within the deadline.
absl::Status WaitNotInProgress(ncclComm_t comm, Clock::time_point deadline, const std::string &what) {
  for (;;) {
    ncclResult_t state = ncclSuccess;
    WEFT_CUDA_RETURN_IF_ERROR(ncclCommGetAsyncError(comm, &state));
    if (state != ncclInProgress) return AsyncStatus(state);
    if (Clock::now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat(what, " did not complete in time"));
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// One rank. Its calls, Abort included, come from one thread at a time (the
// rank's); other ranks reach it only through the shared GroupState.
class Nccl final : public NcclCommunicator {
 public:
  Nccl(ncclComm_t comm, int device, bool blocking, std::shared_ptr<GroupState> group,
       Communicator *bootstrap, double timeout_s)
      : comm_(comm), device_(device), blocking_(blocking), group_(std::move(group)),
        bootstrap_(bootstrap), timeout_s_(timeout_s) {}

  // The parts that can fail, after construction so that the destructor
  // frees whatever was made.
  absl::Status Init(cudaStream_t stream) {
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    WEFT_CUDA_RETURN_IF_ERROR(ncclCommUserRank(comm_, &rank_));
    WEFT_CUDA_RETURN_IF_ERROR(ncclCommCount(comm_, &size_));
    if (stream) {
      stream_ = stream;
    } else {
      WEFT_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      own_stream_ = true;
    }
    // The barrier's one element: NCCL has no barrier, so it all-reduces this.
    WEFT_CUDA_RETURN_IF_ERROR(cudaMalloc(&scratch_, sizeof(int32_t)));
    return absl::OkStatus();
  }

  ~Nccl() override {
    cudaSetDevice(device_);
    if (comm_ && group_->aborted.load()) {
      ncclCommAbort(comm_);  // a clean destroy would wait for ranks that gave up
    } else if (comm_) {
      if (!blocking_ && ncclCommFinalize(comm_) == ncclInProgress)
        WaitNotInProgress(comm_, DeadlineAfter(timeout_s_), "ncclCommFinalize").IgnoreError();
      ncclCommDestroy(comm_);
    }
    if (scratch_) cudaFree(scratch_);
    if (own_stream_ && stream_) cudaStreamDestroy(stream_);
    cudaGetLastError();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const override { return device_; }
  cudaStream_t stream() const override { return stream_; }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    return Run("AllReduce", count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclAllReduce(send, recv, count, type, OpOf(kind), comm_, stream_));
    });
  }

  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    return Run("AllGather", count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclAllGather(send, recv, count, type, comm_, stream_));
    });
  }

  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    return Run("ReduceScatter", count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(
          ncclReduceScatter(send, recv, count, type, OpOf(kind), comm_, stream_));
    });
  }

  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    if (root < 0 || root >= size_)
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " of ", size_));
    return Run("Broadcast", count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclBroadcast(buf, buf, count, type, root, comm_, stream_));
    });
  }

  // NCCL has no all-to-all: one grouped send and receive per peer, and a
  // device copy for this rank's own slice.
  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    return Run("AllToAll", count, dtype, [&](ncclDataType_t type) {
      const size_t slice = count * DTypeSize(dtype);
      const char *from = static_cast<const char *>(send);
      char *to = static_cast<char *>(recv);
      void *copy = nullptr;
      if (send == recv) {  // in place: the slices sent must be read before any arrives
        WEFT_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&copy, slice * size_, stream_));
        WEFT_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(copy, send, slice * size_, cudaMemcpyDeviceToDevice, stream_));
        from = static_cast<const char *>(copy);
      }
      absl::Status issued = WEFT_CUDA_STATUS(ncclGroupStart());
      for (int p = 0; p < size_ && issued.ok(); ++p) {
        if (p == rank_) continue;
        issued = WEFT_CUDA_STATUS(ncclSend(from + p * slice, count, type, p, comm_, stream_));
        if (issued.ok())
          issued = WEFT_CUDA_STATUS(ncclRecv(to + p * slice, count, type, p, comm_, stream_));
      }
      // A group once started must be ended, whatever failed inside it.
      absl::Status ended = WEFT_CUDA_STATUS(ncclGroupEnd());
      if (issued.ok()) issued = ended;
      // A non-blocking communicator may still be enqueueing the group: the
      // copy must not be freed on the stream before its sends are on it.
      if (issued.ok() && !blocking_)
        issued = WaitNotInProgress(comm_, DeadlineAfter(timeout_s_), "ncclGroupEnd");
      if (issued.ok())
        issued = WEFT_CUDA_STATUS(cudaMemcpyAsync(to + rank_ * slice, from + rank_ * slice, slice,
                                                  cudaMemcpyDeviceToDevice, stream_));
      if (copy && issued.ok()) issued = WEFT_CUDA_STATUS(cudaFreeAsync(copy, stream_));
      return issued;
    });
  }

  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot send to ", peer));
    return Run(absl::StrCat("Send to rank ", peer), count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclSend(buf, count, type, peer, comm_, stream_));
    }, absl::StrCat("rank ", peer));
  }

  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size_ || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot receive from ", peer));
    return Run(absl::StrCat("Recv from rank ", peer), count, dtype, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclRecv(buf, count, type, peer, comm_, stream_));
    }, absl::StrCat("rank ", peer));
  }

  absl::Status Barrier() override {
    return Run("Barrier", 1, DType::kI32, [&](ncclDataType_t type) {
      return WEFT_CUDA_STATUS(ncclAllReduce(scratch_, scratch_, 1, type, ncclSum, comm_, stream_));
    });
  }

  void Abort(const std::string &why) override {
    group_->Abort(why);
    CancelComm();
    if (bootstrap_) bootstrap_->Abort(why);  // under MPI: ends the job, saying why
  }

 private:
  // Every operation starts here: a dead group fails at once, and NCCL and
  // CUDA want this rank's GPU current on the calling thread.
  absl::Status Begin(const std::string &what) {
    if (group_->aborted.load()) return Dead(what);
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    return absl::OkStatus();
  }

  absl::Status Dead(const std::string &what) {
    CancelComm();
    return absl::AbortedError(absl::StrCat("rank ", rank_, ": ", what,
                                           ": the NCCL group was aborted: ", group_->Why()));
  }

  // This rank failed after enqueueing: the group is aborted with its reason.
  absl::Status Fail(absl::Status why) {
    const std::string reason = absl::StrCat("rank ", rank_, ": ", why.message());
    group_->Abort(reason);
    CancelComm();
    if (bootstrap_) bootstrap_->Abort(reason);
    return absl::Status(why.code(), reason);
  }

  void CancelComm() {
    if (!comm_) return;
    ncclCommAbort(comm_);  // cancels this rank's pending NCCL kernels
    comm_ = nullptr;
  }

  // Every operation's shape: a dead group fails at once, an empty one does
  // nothing (every rank passes the same count), `enqueue` issues the NCCL
  // calls for the element type, and Finish waits for them.
  absl::Status Run(const std::string &what, int64_t count, DType dtype,
                   const std::function<absl::Status(ncclDataType_t)> &enqueue,
                   const std::string &whom = "the other ranks") {
    WEFT_RETURN_IF_ERROR(Begin(what));
    if (count == 0) return absl::OkStatus();
    absl::StatusOr<ncclDataType_t> type = TypeOf(dtype);
    if (!type.ok()) return type.status();
    return Finish(what, enqueue(*type), whom);
  }

  // Waits for everything enqueued on the stream, under the timeout: it spins
  // for the first millisecond, then sleeps between polls so a long wait
  // leaves the cores to ranks still working.
  absl::Status Finish(const std::string &what, absl::Status issued,
                      const std::string &whom = "the other ranks") {
    if (!issued.ok())  // this rank failed after others may have enqueued theirs
      return Fail(absl::Status(issued.code(), absl::StrCat(what, ": ", issued.message())));
    const Clock::time_point start = Clock::now(), deadline = DeadlineAfter(timeout_s_);
    for (;;) {
      if (group_->aborted.load()) return Dead(what);
      ncclResult_t state = ncclSuccess;
      if (absl::Status s = WEFT_CUDA_STATUS(ncclCommGetAsyncError(comm_, &state)); !s.ok())
        return Fail(s);
      if (state != ncclSuccess && state != ncclInProgress) {
        absl::Status s = AsyncStatus(state);
        return Fail(absl::Status(s.code(), absl::StrCat(what, ": ", s.message())));
      }
      if (state == ncclSuccess) {
        const cudaError_t q = cudaStreamQuery(stream_);
        if (q == cudaSuccess) return absl::OkStatus();
        if (q != cudaErrorNotReady) return Fail(WEFT_CUDA_STATUS(q));
      }
      const Clock::time_point now = Clock::now();
      if (now >= deadline)
        return Fail(absl::DeadlineExceededError(
            absl::StrCat(what, " timed out after ", timeout_s_, " s waiting for ", whom,
                         " (the collective timeout, weft-run --timeout)")));
      if (now - start > std::chrono::milliseconds(1))
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  ncclComm_t comm_;  // null once cancelled
  int device_;
  bool blocking_;
  std::shared_ptr<GroupState> group_;
  Communicator *bootstrap_;  // the processes' communicator (MPI), or null in one process
  double timeout_s_;
  int rank_ = 0, size_ = 1;
  cudaStream_t stream_ = nullptr;
  bool own_stream_ = false;
  void *scratch_ = nullptr;
};

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<NcclCommunicator>>> CreateNcclGroup(
    const std::vector<int> &devices, double timeout_s, const std::vector<cudaStream_t> &streams) {
  const int n = static_cast<int>(devices.size());
  if (n == 0) return absl::InvalidArgumentError("an NCCL group needs at least one GPU");
  if (!streams.empty() && static_cast<int>(streams.size()) != n)
    return absl::InvalidArgumentError(
        absl::StrCat(streams.size(), " streams given for ", n, " NCCL ranks"));
  std::set<int> seen;
  for (int r = 0; r < n; ++r)
    if (!seen.insert(devices[r]).second)
      return absl::InvalidArgumentError(absl::StrCat(
          "NCCL needs a distinct GPU per rank, and GPU ", devices[r], " is given twice (rank ", r,
          "); ranks sharing a GPU need an in-process GPU communicator, which does not exist yet"));
  std::vector<ncclComm_t> comms(n, nullptr);
  WEFT_CUDA_RETURN_IF_ERROR(ncclCommInitAll(comms.data(), n, devices.data()));
  auto group = std::make_shared<GroupState>();
  std::vector<std::unique_ptr<NcclCommunicator>> out;
  for (int r = 0; r < n; ++r)  // owned at once, so a failure below frees every one
    out.push_back(std::make_unique<Nccl>(comms[r], devices[r], /*blocking=*/true, group, nullptr,
                                         timeout_s));
  for (int r = 0; r < n; ++r)
    WEFT_RETURN_IF_ERROR(static_cast<Nccl &>(*out[r]).Init(streams.empty() ? nullptr : streams[r]));
  return out;
}

absl::StatusOr<std::unique_ptr<NcclCommunicator>> CreateNcclCommunicator(
    Communicator &bootstrap, int device, double timeout_s, cudaStream_t stream) {
  // Rank 0's id reaches every rank, or rank 0's failure ends the job: the
  // others are already waiting in the broadcast.
  ncclUniqueId id{};
  if (bootstrap.rank() == 0) {
    if (absl::Status s = WEFT_CUDA_STATUS(ncclGetUniqueId(&id)); !s.ok()) {
      bootstrap.Abort(std::string(s.message()));
      return s;
    }
  }
  static_assert(sizeof(id) % sizeof(int32_t) == 0, "the id travels as i32 elements");
  WEFT_RETURN_IF_ERROR(bootstrap.Broadcast(&id, sizeof(id) / sizeof(int32_t), DType::kI32, 0));
  WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  // Non-blocking, so that a peer that never comes is a timeout, not a hang.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  absl::Status made = WEFT_CUDA_STATUS(
      ncclCommInitRankConfig(&comm, bootstrap.size(), id, bootstrap.rank(), &config));
  if (made.ok() && comm) made = WaitNotInProgress(comm, DeadlineAfter(timeout_s), "ncclCommInitRankConfig");
  if (!made.ok()) {
    if (comm) ncclCommAbort(comm);
    return absl::Status(made.code(), absl::StrCat("rank ", bootstrap.rank(), " of ", bootstrap.size(),
                                                  " on GPU ", device, ": ", made.message()));
  }
  auto out = std::make_unique<Nccl>(comm, device, /*blocking=*/false, std::make_shared<GroupState>(),
                                    &bootstrap, timeout_s);
  WEFT_RETURN_IF_ERROR(out->Init(stream));
  return std::unique_ptr<NcclCommunicator>(std::move(out));
}

}  // namespace weft

// The in-process group algorithm (group.h). Each collective publishes every
// rank's buffers, meets at a barrier, lets each rank do its 1/size share of
// the work reading the others' buffers directly, and meets again so no
// buffer is reused early. Written here because the alternative, MPI with one
// process per rank, cannot run ranks as threads of one program.
#include "runtime/collectives/group.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace weft::collectives {
namespace {

// A reusable barrier that gives up: after `timeout`, or at once when a rank
// has aborted the group. Once aborted, it stays so (the group is dead).
class Barrier {
 public:
  Barrier(int n, double timeout_s)
      : n_(n), timeout_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(timeout_s))) {}
  absl::Status Wait(int rank, const char *what) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!aborted_.empty()) return Aborted(rank, what);
    const uint64_t gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return absl::OkStatus();
    }
    if (!cv_.wait_for(lock, timeout_, [&] { return generation_ != gen || !aborted_.empty(); })) {
      aborted_ = absl::StrCat("rank ", rank, " waited ",
                              std::chrono::duration<double>(timeout_).count(), " s in ", what,
                              " for ranks that never came");
      cv_.notify_all();
      return absl::DeadlineExceededError(aborted_);
    }
    return generation_ != gen ? absl::OkStatus() : Aborted(rank, what);
  }
  void Abort(const std::string &why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (aborted_.empty()) aborted_ = why;
    cv_.notify_all();
  }
  bool aborted() {
    std::lock_guard<std::mutex> lock(mu_);
    return !aborted_.empty();
  }

 private:
  absl::Status Aborted(int rank, const char *what) const {
    return absl::AbortedError(absl::StrCat("rank ", rank, " gave up its ", what, ": ", aborted_));
  }
  const int n_;
  const std::chrono::steady_clock::duration timeout_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  std::string aborted_;  // why the group is dead; empty while it lives
  std::mutex mu_;
  std::condition_variable cv_;
};

struct Shared {
  Shared(int n, double timeout_s)
      : size(n), timeout_s(timeout_s), barrier(n, timeout_s), send(n), recv(n), counts(n) {}
  const int size;
  const double timeout_s;
  Barrier barrier;
  std::vector<const void *> send;
  std::vector<void *> recv;
  std::vector<int64_t> counts;
  // Point to point: one FIFO of staged messages per (from, to) pair.
  std::mutex mail_mu;
  std::condition_variable mail_cv;
  std::map<std::pair<int, int>, std::deque<Bytes>> mail;
};

const char *At(const void *p, size_t offset) { return static_cast<const char *>(p) + offset; }
char *At(void *p, size_t offset) { return static_cast<char *>(p) + offset; }

// A memory operation that fails aborts the group (see Fail).
#define WEFT_MOVE(expr)                                        \
  if (absl::Status _m = (expr); !_m.ok()) return Fail(std::move(_m))
// Every wait can fail (timeout, or another rank aborted the group); a rank
// that gives up aborts the group too, so no one waits for it. This rank's
// pending copies finish first: after the barrier others touch its buffers.
#define WEFT_WAIT(what)                                        \
  WEFT_MOVE(ops_->Settle());                                   \
  if (absl::Status _w = s_->barrier.Wait(rank_, what); !_w.ok()) return _w

class GroupCommunicator final : public Communicator {
 public:
  GroupCommunicator(std::shared_ptr<Shared> shared, int rank, std::unique_ptr<MemoryOps> ops)
      : s_(std::move(shared)), rank_(rank), ops_(std::move(ops)) {}
  int rank() const override { return rank_; }
  int size() const override { return s_->size; }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    const size_t es = DTypeSize(dtype);
    if (auto st = Publish(send, count * es, recv, count * es, count); !st.ok()) return st;
    // This rank reduces its share of the elements into a scratch buffer
    // (a send buffer may be a recv buffer), then writes it to every rank.
    const int64_t begin = count * rank_ / size(), end = count * (rank_ + 1) / size();
    const size_t share = (end - begin) * es;
    Bytes mine;
    if (share) {
      WEFT_MOVE(Allocate(share, &mine));
      WEFT_MOVE(ops_->Reduce(Parts(begin * es), mine.data.get(), end - begin, dtype, kind));
    }
    WEFT_WAIT("an all-reduce");  // every rank has read all the inputs it needs
    if (share)
      for (int r = 0; r < size(); ++r)
        WEFT_MOVE(ops_->Copy(At(s_->recv[r], begin * es), mine.data.get(), share));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    const size_t bytes = count * DTypeSize(dtype);
    if (auto st = Publish(send, bytes, recv, bytes * size(), count); !st.ok()) return st;
    if (bytes)
      for (int r = 0; r < size(); ++r) WEFT_MOVE(ops_->Copy(At(s_->recv[r], rank_ * bytes), send, bytes));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    const size_t bytes = count * DTypeSize(dtype);
    if (auto st = Publish(send, bytes * size(), recv, bytes, count); !st.ok()) return st;
    Bytes mine;
    if (bytes) {
      WEFT_MOVE(Allocate(bytes, &mine));
      WEFT_MOVE(ops_->Reduce(Parts(rank_ * bytes), mine.data.get(), count, dtype, kind));
    }
    WEFT_WAIT("a collective");
    if (bytes) WEFT_MOVE(ops_->Copy(recv, mine.data.get(), bytes));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    if (root < 0 || root >= size())
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " of ", size()));
    const size_t bytes = count * DTypeSize(dtype);
    if (auto st = Publish(buf, bytes, buf, bytes, count); !st.ok()) return st;
    if (rank_ != root && bytes) WEFT_MOVE(ops_->Copy(buf, s_->send[root], bytes));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    const size_t bytes = count * DTypeSize(dtype);
    if (auto st = Publish(send, bytes * size(), recv, bytes * size(), count); !st.ok()) return st;
    // This rank gathers slice `rank_` of every sender into its own recv; a
    // scratch copy first, since a send buffer may be a recv buffer.
    Bytes mine;
    if (bytes) {
      WEFT_MOVE(Allocate(bytes * size(), &mine));
      for (int r = 0; r < size(); ++r)
        WEFT_MOVE(ops_->Copy(At(mine.data.get(), r * bytes), At(s_->send[r], rank_ * bytes), bytes));
    }
    WEFT_WAIT("a collective");
    if (bytes) WEFT_MOVE(ops_->Copy(recv, mine.data.get(), bytes * size()));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  // Buffered: the message is copied into a staging buffer of the back end's
  // memory (settled before it is posted), so Send returns at once and `buf`
  // may be reused, as the interface promises.
  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size() || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot send to ", peer));
    WEFT_MOVE(ops_->Enter());
    const size_t bytes = count * DTypeSize(dtype);
    Bytes message;
    if (bytes) {
      WEFT_MOVE(ops_->CheckBuffer(buf, bytes, "send buffer"));
      WEFT_MOVE(Allocate(bytes, &message));
      WEFT_MOVE(ops_->Copy(message.data.get(), buf, bytes));
      WEFT_MOVE(ops_->Settle());
    }
    {
      std::lock_guard<std::mutex> lock(s_->mail_mu);
      s_->mail[{rank_, peer}].push_back(std::move(message));
    }
    s_->mail_cv.notify_all();
    return absl::OkStatus();
  }

  absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size() || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot receive from ", peer));
    WEFT_MOVE(ops_->Enter());
    std::unique_lock<std::mutex> lock(s_->mail_mu);
    auto &queue = s_->mail[{peer, rank_}];
    const auto limit = std::chrono::duration<double>(s_->timeout_s);
    if (!s_->mail_cv.wait_for(lock, limit, [&] { return !queue.empty() || s_->barrier.aborted(); }))
      return absl::DeadlineExceededError(absl::StrCat("rank ", rank_, " waited ", s_->timeout_s,
                                                      " s for a message from rank ", peer));
    if (queue.empty())
      return absl::AbortedError(absl::StrCat("rank ", rank_, " gave up a receive: the group was aborted"));
    Bytes message = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    const size_t bytes = count * DTypeSize(dtype);
    if (message.size != bytes)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " expected ", bytes,
                                                     " bytes from rank ", peer, ", got ",
                                                     message.size));
    if (bytes) {
      WEFT_MOVE(ops_->CheckBuffer(buf, bytes, "receive buffer"));
      WEFT_MOVE(ops_->Copy(buf, message.data.get(), bytes));
      WEFT_MOVE(ops_->Release(std::move(message)));
      WEFT_MOVE(ops_->Settle());
    }
    return absl::OkStatus();
  }

  absl::Status Barrier() override {
    WEFT_MOVE(ops_->Enter());
    WEFT_MOVE(ops_->Settle());
    return s_->barrier.Wait(rank_, "barrier");
  }

  void Abort(const std::string &why) override {
    s_->barrier.Abort(why);
    std::lock_guard<std::mutex> lock(s_->mail_mu);  // wake a waiting Recv
    s_->mail_cv.notify_all();
  }

 private:
  // Publishes this rank's buffers and waits for everyone's; a count that
  // differs between ranks is an error on every rank.
  absl::Status Publish(const void *send, size_t send_bytes, void *recv, size_t recv_bytes,
                       int64_t count) {
    WEFT_MOVE(ops_->Enter());
    if (send_bytes) WEFT_MOVE(ops_->CheckBuffer(send, send_bytes, "send buffer"));
    if (recv_bytes && recv != send) WEFT_MOVE(ops_->CheckBuffer(recv, recv_bytes, "receive buffer"));
    s_->send[rank_] = send;
    s_->recv[rank_] = recv;
    s_->counts[rank_] = count;
    WEFT_WAIT("a collective");
    for (int r = 0; r < size(); ++r)
      if (s_->counts[r] != count) {
        WEFT_WAIT("a collective");
        return absl::InvalidArgumentError(absl::StrCat("collective size mismatch: rank ", rank_,
                                                       " has ", count, ", rank ", r, " has ",
                                                       s_->counts[r]));
      }
    return absl::OkStatus();
  }

  // Every rank's send buffer, `offset` bytes in, in rank order.
  std::vector<const void *> Parts(size_t offset) const {
    std::vector<const void *> parts(size());
    for (int r = 0; r < size(); ++r) parts[r] = At(s_->send[r], offset);
    return parts;
  }

  absl::Status Allocate(size_t bytes, Bytes *out) {
    absl::StatusOr<Bytes> got = ops_->Allocate(bytes);
    if (!got.ok()) return got.status();
    *out = std::move(*got);
    return absl::OkStatus();
  }

  // This rank cannot go on: the others would wait for it until the timeout,
  // so the group is aborted with the reason.
  absl::Status Fail(absl::Status st) {
    if (!absl::IsAborted(st) && !absl::IsDeadlineExceeded(st))
      Abort(absl::StrCat("rank ", rank_, " failed: ", st.message()));
    return st;
  }

  std::shared_ptr<Shared> s_;
  const int rank_;
  const std::unique_ptr<MemoryOps> ops_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> CreateGroup(std::vector<std::unique_ptr<MemoryOps>> ops,
                                                       double timeout_s) {
  auto shared = std::make_shared<Shared>(static_cast<int>(ops.size()), timeout_s);
  std::vector<std::unique_ptr<Communicator>> group;
  for (size_t r = 0; r < ops.size(); ++r)
    group.push_back(std::make_unique<GroupCommunicator>(shared, static_cast<int>(r), std::move(ops[r])));
  return group;
}

}  // namespace weft::collectives

// The in-process communicator: ranks are threads sharing memory. Each
// collective publishes every rank's buffers, meets at a barrier, lets each
// rank do its 1/size share of the work reading the others' buffers directly,
// and meets again so no buffer is reused early. Written here because the
// alternative, MPI with one process per rank, cannot run ranks as threads
// of one program.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/collectives/communicator.h"
#include "runtime/cpu/kernels.h"

namespace weft {
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
  // Point to point: one FIFO of byte messages per (from, to) pair.
  std::mutex mail_mu;
  std::condition_variable mail_cv;
  std::map<std::pair<int, int>, std::deque<std::vector<char>>> mail;
};

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
T Reduce(const std::vector<const void *> &bufs, int64_t offset, int64_t i, ReduceKind kind) {
  T acc = static_cast<const T *>(bufs[0])[offset + i];
  for (size_t r = 1; r < bufs.size(); ++r) {
    T v = static_cast<const T *>(bufs[r])[offset + i];
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

// Writes the reduction of elements [begin, end) of the send buffers
// (starting `offset` into each) to dst[begin - base ...].
void ReduceRange(const std::vector<const void *> &send, int64_t offset, int64_t begin,
                 int64_t end, DType t, ReduceKind kind, void *dst, int64_t dst_offset) {
  for (int64_t i = begin; i < end; ++i) {
    switch (t) {
      case DType::kF32:
        static_cast<float *>(dst)[dst_offset + i - begin] = Reduce<float>(send, offset, i, kind);
        break;
      case DType::kI32:
        static_cast<int32_t *>(dst)[dst_offset + i - begin] = Reduce<int32_t>(send, offset, i, kind);
        break;
      case DType::kI64:
        static_cast<int64_t *>(dst)[dst_offset + i - begin] = Reduce<int64_t>(send, offset, i, kind);
        break;
      default: {  // bf16 / f16: widen to float in rank order
        float acc = static_cast<float>(Load(send[0], t, offset + i));
        for (size_t r = 1; r < send.size(); ++r) {
          float v = static_cast<float>(Load(send[r], t, offset + i));
          acc = kind == ReduceKind::kMax   ? std::max(acc, v)
                : kind == ReduceKind::kMin ? std::min(acc, v)
                                           : acc + v;
        }
        if (kind == ReduceKind::kAverage) acc /= static_cast<float>(send.size());
        Store(dst, t, dst_offset + i - begin, acc);
      }
    }
  }
}

// Every wait can fail (timeout, or another rank aborted the group); a rank
// that gives up aborts the group too, so no one waits for it.
#define WEFT_WAIT(what)                                                   \
  if (absl::Status _w = s_->barrier.Wait(rank_, what); !_w.ok()) return _w

class InProcess final : public Communicator {
 public:
  InProcess(std::shared_ptr<Shared> shared, int rank) : s_(std::move(shared)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_->size; }

  absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                         ReduceKind kind) override {
    if (auto st = Publish(send, recv, count); !st.ok()) return st;
    // This rank reduces its share of the elements into a scratch buffer
    // (a send buffer may be a recv buffer), then writes it to every rank.
    const int64_t begin = count * rank_ / size(), end = count * (rank_ + 1) / size();
    std::vector<char> mine((end - begin) * DTypeSize(dtype));
    ReduceRange(s_->send, 0, begin, end, dtype, kind, mine.data(), 0);
    WEFT_WAIT("an all-reduce");  // every rank has read all the inputs it needs
    for (int r = 0; r < size(); ++r)
      std::memcpy(static_cast<char *>(s_->recv[r]) + begin * DTypeSize(dtype), mine.data(),
                  mine.size());
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) override {
    if (auto st = Publish(send, recv, count); !st.ok()) return st;
    const size_t bytes = count * DTypeSize(dtype);
    for (int r = 0; r < size(); ++r)
      std::memmove(static_cast<char *>(s_->recv[r]) + rank_ * bytes, send, bytes);
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                             ReduceKind kind) override {
    if (auto st = Publish(send, recv, count); !st.ok()) return st;
    std::vector<char> mine(count * DTypeSize(dtype));
    ReduceRange(s_->send, rank_ * count, 0, count, dtype, kind, mine.data(), 0);
    WEFT_WAIT("a collective");
    std::memcpy(recv, mine.data(), mine.size());
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) override {
    if (root < 0 || root >= size())
      return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " of ", size()));
    if (auto st = Publish(buf, buf, count); !st.ok()) return st;
    if (rank_ != root) std::memcpy(buf, s_->send[root], count * DTypeSize(dtype));
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) override {
    if (auto st = Publish(send, recv, count); !st.ok()) return st;
    // This rank gathers slice `rank_` of every sender into its own recv; a
    // scratch copy first, since a send buffer may be a recv buffer.
    const size_t bytes = count * DTypeSize(dtype);
    std::vector<char> mine(bytes * size());
    for (int r = 0; r < size(); ++r)
      std::memcpy(mine.data() + r * bytes, static_cast<const char *>(s_->send[r]) + rank_ * bytes,
                  bytes);
    WEFT_WAIT("a collective");
    std::memcpy(recv, mine.data(), mine.size());
    WEFT_WAIT("a collective");
    return absl::OkStatus();
  }

  absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) override {
    if (peer < 0 || peer >= size() || peer == rank_)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " cannot send to ", peer));
    const char *p = static_cast<const char *>(buf);
    std::vector<char> message(p, p + count * DTypeSize(dtype));
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
    std::unique_lock<std::mutex> lock(s_->mail_mu);
    auto &queue = s_->mail[{peer, rank_}];
    const auto limit = std::chrono::duration<double>(s_->timeout_s);
    if (!s_->mail_cv.wait_for(lock, limit, [&] { return !queue.empty() || s_->barrier.aborted(); }))
      return absl::DeadlineExceededError(absl::StrCat("rank ", rank_, " waited ", s_->timeout_s,
                                                      " s for a message from rank ", peer));
    if (queue.empty())
      return absl::AbortedError(absl::StrCat("rank ", rank_, " gave up a receive: the group was aborted"));
    std::vector<char> message = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    const size_t bytes = count * DTypeSize(dtype);
    if (message.size() != bytes)
      return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " expected ", bytes,
                                                     " bytes from rank ", peer, ", got ",
                                                     message.size()));
    std::memcpy(buf, message.data(), bytes);
    return absl::OkStatus();
  }

  absl::Status Barrier() override { return s_->barrier.Wait(rank_, "barrier"); }

  void Abort(const std::string &why) override {
    s_->barrier.Abort(why);
    std::lock_guard<std::mutex> lock(s_->mail_mu);  // wake a waiting Recv
    s_->mail_cv.notify_all();
  }

 private:
  // Publishes this rank's buffers and waits for everyone's; a count that
  // differs between ranks is an error on every rank.
  absl::Status Publish(const void *send, void *recv, int64_t count) {
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

  std::shared_ptr<Shared> s_;
  const int rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> CreateInProcessGroup(int size, double timeout_s) {
  auto shared = std::make_shared<Shared>(size, timeout_s);
  std::vector<std::unique_ptr<Communicator>> group;
  for (int r = 0; r < size; ++r) group.push_back(std::make_unique<InProcess>(shared, r));
  return group;
}

}  // namespace weft

// Block-cooperative kernels on the host: the part of CudaEmulation.h that
// runs a block's threads as real threads, so that __shared__ memory,
// __syncthreads() and warp shuffles behave as on the GPU. Included by
// CudaEmulation.h; use EmulateBlocks() to launch.
//
// Each launch starts one std::thread per thread of a block; the threads walk
// the blocks one after another, all finishing a block before any starts the
// next, so a `__shared__` variable (the shim makes it `static`) is one
// block's shared memory. It is not cleared between blocks or launches (on a
// GPU it holds whatever was there): a test of a missing barrier must make
// stale values wrong ones. __syncthreads() is a barrier of the block's
// threads, a shuffle a barrier of the warp's 32 lanes around an exchange
// array (double-buffered, so one barrier per shuffle suffices).
//
// Schedules:
//  - kConcurrent: the threads run freely; the OS interleaves them.
//  - kForward / kReverse: one thread runs at a time, and the running thread
//    hands over only at a barrier, to the first runnable thread in thread
//    order (or reverse order). So a group released by a barrier runs ahead of
//    everyone else as far as it can: a missing __syncthreads (a read of a
//    value another warp has not written yet, or a write over one it has not
//    read yet) gives a wrong result every time, not now and then.
// A barrier that not every thread of its block (or warp) reaches, and a
// deadlock, abort with a message, as the GPU would hang.
#ifndef WEFT_TESTS_RUNTIME_CUDABLOCKEMULATION_H
#define WEFT_TESTS_RUNTIME_CUDABLOCKEMULATION_H

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace weft::cuda::emulation {

enum class Schedule { kConcurrent, kForward, kReverse };

[[noreturn]] inline void Fail(const char *what) {
  std::fprintf(stderr, "CUDA emulation: %s\n", what);
  std::abort();
}

/// One block's barriers and warp exchange arrays, reused block after block.
/// Barrier 0 is __syncthreads, barrier 1 + w warp w's.
class BlockState {
 public:
  BlockState(unsigned threads, Schedule schedule)
      : threads_(threads),
        warps_(threads / 32),
        schedule_(schedule),
        cv_(threads),
        size_(1 + warps_),
        live_(1 + warps_),
        arrived_(1 + warps_),
        generation_(1 + warps_),
        runnable_(threads),
        slots_(warps_) {
    size_[0] = threads;
    for (unsigned w = 0; w < warps_; ++w) size_[1 + w] = 32;
    Reset();
  }

  /// Before a block: every thread live and runnable, the first in order
  /// holding the turn.
  void Reset() {
    live_ = size_;
    std::fill(arrived_.begin(), arrived_.end(), 0u);
    std::fill(runnable_.begin(), runnable_.end(), char{1});
    running_ = Serialized() ? Order(0) : -1;
  }

  /// A thread's start: in a serialized schedule, waits for its turn.
  void Start(unsigned t) {
    if (!Serialized()) return;
    std::unique_lock<std::mutex> lock(mu_);
    WaitFor(lock, t, [&] { return running_ == static_cast<int>(t); });
  }

  /// Thread t waits at barrier b until every live member arrived.
  void Wait(unsigned t, unsigned b) {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t generation = generation_[b];
    if (++arrived_[b] == live_[b]) {
      Release(b);
    } else if (Serialized()) {
      runnable_[t] = 0;
    }
    if (Serialized()) PassTurn();
    WaitFor(lock, t, [&] {
      return generation_[b] != generation && (!Serialized() || running_ == static_cast<int>(t));
    });
  }

  /// Thread t returned from the kernel: it leaves its barriers.
  void Exit(unsigned t) {
    std::unique_lock<std::mutex> lock(mu_);
    for (unsigned b : {0u, 1 + t / 32}) {
      --live_[b];
      if (arrived_[b] > 0 && arrived_[b] == live_[b]) Release(b);
    }
    if (Serialized()) {
      runnable_[t] = 0;
      PassTurn();
    }
  }

  /// The exchange slots of `warp` for a shuffle of parity `parity`.
  uint64_t *Slots(unsigned warp, unsigned parity) { return slots_[warp][parity].data(); }

 private:
  bool Serialized() const { return schedule_ != Schedule::kConcurrent; }
  unsigned Order(unsigned i) const { return schedule_ == Schedule::kReverse ? threads_ - 1 - i : i; }

  // Barrier b completes: all its members must have come (on the GPU a
  // barrier some threads skip is undefined, mostly a hang).
  void Release(unsigned b) {
    if (arrived_[b] != size_[b])
      Fail(b == 0 ? "__syncthreads() not reached by every thread of the block"
                  : "a warp shuffle not reached by every lane of the warp");
    arrived_[b] = 0;
    ++generation_[b];
    if (b == 0) {
      std::fill(runnable_.begin(), runnable_.end(), char{1});
    } else {
      for (unsigned l = 0; l < 32; ++l) runnable_[(b - 1) * 32 + l] = 1;
    }
    if (!Serialized()) {
      const unsigned first = b == 0 ? 0 : (b - 1) * 32, count = b == 0 ? threads_ : 32;
      for (unsigned i = 0; i < count; ++i) cv_[first + i].notify_one();
    }
  }

  // The turn goes to the first runnable thread in order (none when every
  // thread has returned).
  void PassTurn() {
    running_ = -1;
    for (unsigned i = 0; i < threads_; ++i)
      if (runnable_[Order(i)]) {
        running_ = static_cast<int>(Order(i));
        break;
      }
    if (running_ >= 0) cv_[running_].notify_one();
    for (unsigned b = 0; b < size_.size() && running_ < 0; ++b)
      if (arrived_[b] > 0) Fail("deadlock: threads wait at a barrier that no running thread reaches");
  }

  template <typename Ready>
  void WaitFor(std::unique_lock<std::mutex> &lock, unsigned t, Ready ready) {
    if (!cv_[t].wait_for(lock, std::chrono::seconds(120), ready))
      Fail("a thread waited 120 s at a barrier (deadlock?)");
  }

  const unsigned threads_, warps_;
  const Schedule schedule_;
  std::mutex mu_;
  std::vector<std::condition_variable> cv_;  // one per thread
  std::vector<unsigned> size_, live_, arrived_;
  std::vector<uint64_t> generation_;
  std::vector<char> runnable_;
  int running_ = -1;
  std::vector<std::array<std::array<uint64_t, 32>, 2>> slots_;
};

/// The block this host thread emulates a thread of (null outside
/// EmulateBlocks), and its count of shuffles so far (their parity picks the
/// exchange buffer).
inline thread_local BlockState *current_block = nullptr;
inline thread_local unsigned shuffles_done = 0;

/// A plain barrier of the pool's threads, between blocks.
class PoolBarrier {
 public:
  explicit PoolBarrier(unsigned n) : n_(n) {}
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t generation = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  const unsigned n_;
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned arrived_ = 0;
  uint64_t generation_ = 0;
};

/// Runs kernel<<<blocks, threads>>>(args...) with the block's threads as
/// real threads (threads: a multiple of 32, at most 1024). `reverse_blocks`
/// walks the blocks from the last.
template <typename... P, typename... A>
void EmulateBlocks(unsigned blocks, unsigned threads, Schedule schedule, bool reverse_blocks,
                   void (*kernel)(P...), A... args) {
  if (threads == 0 || threads % 32 != 0 || threads > 1024)
    Fail("a cooperative block needs a multiple of 32 threads, at most 1024");
  BlockState state(threads, schedule);
  PoolBarrier between(threads);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      gridDim = dim3{blocks, 1, 1};
      blockDim = dim3{threads, 1, 1};
      threadIdx = uint3{t, 0, 0};
      current_block = &state;
      for (unsigned b = 0; b < blocks; ++b) {
        blockIdx = uint3{reverse_blocks ? blocks - 1 - b : b, 0, 0};
        shuffles_done = 0;
        state.Start(t);
        kernel(static_cast<P>(args)...);
        state.Exit(t);
        between.Wait();
        if (t == 0) state.Reset();
        between.Wait();
      }
      current_block = nullptr;
    });
  for (auto &thread : pool) thread.join();
}

inline void SyncThreads() {
  if (current_block == nullptr) Fail("__syncthreads() outside EmulateBlocks");
  current_block->Wait(threadIdx.x, 0);
}

/// The value `v` of lane src_lane(lane) of this warp (every lane calls it
/// with the full mask, convergently).
template <typename T, typename Src>
T Shuffle(unsigned mask, T v, Src src_lane) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a register value");
  if (current_block == nullptr) Fail("a warp shuffle outside EmulateBlocks");
  if (mask != 0xffffffffu) Fail("only full-mask warp shuffles are emulated");
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  uint64_t *slots = current_block->Slots(warp, shuffles_done++ % 2);
  std::memcpy(&slots[lane], &v, sizeof(T));
  current_block->Wait(threadIdx.x, 1 + warp);
  const unsigned src = src_lane(lane);
  T out;
  std::memcpy(&out, &slots[src < 32 ? src : lane], sizeof(T));
  return out;
}

}  // namespace weft::cuda::emulation

#define __syncthreads() ::weft::cuda::emulation::SyncThreads()

template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  if (width != 32) ::weft::cuda::emulation::Fail("only 32-wide warp shuffles are emulated");
  return ::weft::cuda::emulation::Shuffle(mask, v, [&](unsigned lane) { return lane ^ lane_mask; });
}
/// A lane past the warp's end keeps its own value, as on the GPU.
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  if (width != 32) ::weft::cuda::emulation::Fail("only 32-wide warp shuffles are emulated");
  return ::weft::cuda::emulation::Shuffle(mask, v, [&](unsigned lane) { return lane + delta; });
}

#endif

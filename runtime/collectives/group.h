// The in-process group algorithm, shared by the communicators whose ranks
// are threads of one process: `inprocess` (host memory, inprocess.cc) and
// `cuda-inprocess` (several virtual devices on one GPU, cuda_inprocess.cc).
//
// The group does the rendezvous (each collective publishes every rank's
// buffers and meets at a barrier), the count checks, the timeout and Abort,
// and the point-to-point mailboxes. What differs between host and GPU is
// only how bytes move and reduce; that is a `MemoryOps`, one per rank.
#ifndef WEFT_RUNTIME_COLLECTIVES_GROUP_H
#define WEFT_RUNTIME_COLLECTIVES_GROUP_H

#include <functional>
#include <memory>
#include <vector>

#include "runtime/collectives/communicator.h"

namespace weft::collectives {

/// Memory owned by one back end (a host vector, a device allocation) that
/// frees it through its deleter.
struct Bytes {
  std::unique_ptr<void, std::function<void(void *)>> data;
  size_t size = 0;
};

/// How one rank's bytes move: called only on that rank's thread. Copies and
/// reductions may run asynchronously (on a GPU stream); Settle waits for
/// them. The group calls Settle before every barrier, because after a
/// barrier other ranks read this rank's buffers or overwrite what it read.
class MemoryOps {
 public:
  virtual ~MemoryOps() = default;
  /// First thing in every call on the rank's thread (a GPU: make it current).
  virtual absl::Status Enter() { return absl::OkStatus(); }
  /// An error when the `bytes` at `p` are not memory this back end moves
  /// (`role` names the argument for the message). Called before a
  /// collective publishes its buffers.
  virtual absl::Status CheckBuffer(const void *p, size_t bytes, const char *role) {
    return absl::OkStatus();
  }
  /// `bytes` of scratch or staging memory of this back end's kind.
  virtual absl::StatusOr<Bytes> Allocate(size_t bytes) = 0;
  /// Frees `bytes` (a staging buffer, perhaps another rank's allocation)
  /// after the copies this rank has issued so far, reporting a failure.
  virtual absl::Status Release(Bytes bytes) {
    bytes.data.reset();
    return absl::OkStatus();
  }
  /// Copies `bytes` from `src` (which may be another rank's buffer) to `dst`;
  /// dst == src is nothing to do.
  virtual absl::Status Copy(void *dst, const void *src, size_t bytes) = 0;
  /// dst[i] = the reduction of parts[0][i], parts[1][i], ... in part (rank)
  /// order, for i < count: the same answer whichever rank computes it.
  virtual absl::Status Reduce(const std::vector<const void *> &parts, void *dst, int64_t count,
                              DType dtype, ReduceKind kind) = 0;
  /// Waits until this rank's copies and reductions so far are complete.
  virtual absl::Status Settle() = 0;
};

/// The host back end of `inprocess` (inprocess.cc): memmove, CPU reductions.
std::unique_ptr<MemoryOps> NewHostMemoryOps();

/// One communicator per rank, all of one group; rank r moves bytes with
/// `ops[r]`. A rank that waits more than `timeout_s` for the others gets
/// DeadlineExceeded and aborts the group; a rank whose memory operation
/// fails aborts it too, so no rank waits for one that has given up.
std::vector<std::unique_ptr<Communicator>> CreateGroup(std::vector<std::unique_ptr<MemoryOps>> ops,
                                                       double timeout_s);

}  // namespace weft::collectives

#endif

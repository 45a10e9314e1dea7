// weft::Communicator: the collectives between the ranks of a program. One
// interface, several implementations: `inprocess` (ranks on threads of one
// process, always built), `mpi` (processes), and on GPUs `nccl` (nccl.h)
// and `cuda-inprocess` (virtual devices sharing one GPU, cuda_inprocess.h).
// Every rank calls each collective in the same order with the same count;
// results are bit-identical on every rank and from run to run (reductions
// add the ranks' values in rank order).
#ifndef WEFT_RUNTIME_COLLECTIVES_COMMUNICATOR_H
#define WEFT_RUNTIME_COLLECTIVES_COMMUNICATOR_H

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/tensor.h"

namespace weft {

enum class ReduceKind { kSum = 0, kAverage = 1, kMax = 2, kMin = 3 };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// recv[i] = reduce over ranks of send[i], for i < count; send may be recv.
  virtual absl::Status AllReduce(const void *send, void *recv, int64_t count, DType dtype,
                                 ReduceKind kind) = 0;
  /// recv holds size() * count elements: rank r's send at r * count.
  virtual absl::Status AllGather(const void *send, void *recv, int64_t count, DType dtype) = 0;
  /// send holds size() * count elements; rank r receives the reduction of
  /// every rank's slice r.
  virtual absl::Status ReduceScatter(const void *send, void *recv, int64_t count, DType dtype,
                                     ReduceKind kind) = 0;
  /// Every rank's buf becomes root's.
  virtual absl::Status Broadcast(void *buf, int64_t count, DType dtype, int root) = 0;
  /// send and recv hold size() * count elements: slice j of rank i's send
  /// lands in slice i of rank j's recv.
  virtual absl::Status AllToAll(const void *send, void *recv, int64_t count, DType dtype) = 0;
  /// Point to point, for pipeline stages: Recv blocks until the matching
  /// Send; messages between two ranks arrive in the order they were sent.
  /// Send copies `buf` and returns at once (buffered: the sender computes on
  /// while the message travels), so `buf` may be reused as soon as it
  /// returns; under MPI the transfer completes later, at FinishSends at the
  /// latest, within the timeout.
  virtual absl::Status Send(const void *buf, int64_t count, DType dtype, int peer) = 0;
  virtual absl::Status Recv(void *buf, int64_t count, DType dtype, int peer) = 0;
  /// Waits until every message this rank sent has left it (under MPI the
  /// pending MPI_Isends; in process they already have). The executor calls
  /// it before a step returns, so no transfer outlives the step.
  virtual absl::Status FinishSends() { return absl::OkStatus(); }
  virtual absl::Status Barrier() = 0;
  /// This rank failed: every collective of the group, waiting or to come,
  /// returns an error naming `why` instead of waiting for it forever. Under
  /// MPI the others are in other processes: this one prints `why` and calls
  /// MPI_Abort, which ends every process of the job.
  virtual void Abort(const std::string &why) = 0;
};

/// `size` communicators of one group, one per rank thread of this process.
/// A rank that waits more than `timeout_s` seconds for the others (one that
/// hangs or never comes) gets DeadlineExceeded and aborts the group.
std::vector<std::unique_ptr<Communicator>> CreateInProcessGroup(int size, double timeout_s = 600);

/// True when this process was started by mpirun/srun with more than one
/// process (the launcher's environment says so) and MPI support is built.
bool LaunchedUnderMpi();
/// Initialises MPI once (it is finalised at exit) and returns this process's
/// communicator over all processes; an error when MPI is not built in.
/// A collective or send/recv that waits more than `timeout_s` seconds for
/// the other processes prints which rank and call gave up and aborts the
/// whole job (MPI_Abort): every process exits non-zero, none hangs.
absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(double timeout_s = 600);
/// The processes with the same `color`, ranked by `key` (MPI_Comm_split of
/// the world): one axis of a 2-D mesh. Every process must call it, in the
/// same order.
absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiSubCommunicator(int color, int key,
                                                                       double timeout_s = 600);

}  // namespace weft

#endif

// One clock for the processes of an MPI job, for traces: each process's
// steady clock is its own (another node's is unrelated to this one's), so a
// trace that puts every rank on one timeline must translate between them.
#ifndef WEFT_RUNTIME_EXECUTOR_CLOCK_SYNC_H
#define WEFT_RUNTIME_EXECUTOR_CLOCK_SYNC_H

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/collectives/communicator.h"

namespace weft::trace {

/// The same instant on every member of `comm`, each in its own steady clock
/// (SteadyNowNs): process 0's "now", and on every other process the reading
/// of its clock at that instant. Every member calls it.
///
/// A barrier alone is not enough: processes leave it at different times,
/// and one that the OS deschedules on its way out (ranks oversubscribe the
/// cores) reads its clock milliseconds late. So process 0 plays ping-pong
/// with each other process in turn (Cristian's algorithm): it sends at a,
/// the peer answers with its clock b, the answer arrives at c; then the
/// peer's clock minus process 0's is b - (a + c) / 2, off by at most half
/// the round trip. Of `rounds` exchanges, the shortest round trip wins,
/// which discards those a descheduled process stretched.
struct AlignedClock {
  int64_t now = 0;
  /// On process 0: per member, the most its `now` can be off from process
  /// 0's (half the best round trip; 0 for process 0). Empty elsewhere.
  std::vector<int64_t> error_ns;
};
absl::StatusOr<AlignedClock> AlignedNow(Communicator &comm, int rounds = 32);

}  // namespace weft::trace

#endif  // WEFT_RUNTIME_EXECUTOR_CLOCK_SYNC_H

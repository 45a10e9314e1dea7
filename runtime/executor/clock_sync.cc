// Cristian's clock synchronisation between process 0 and each other process
// (see clock_sync.h).
#include "runtime/executor/clock_sync.h"

#include <limits>

#include "runtime/executor/trace.h"

namespace weft::trace {

absl::StatusOr<AlignedClock> AlignedNow(Communicator &comm, int rounds) {
  // Nobody is still busy with something else when the exchanges start.
  if (absl::Status s = comm.Barrier(); !s.ok()) return s;
  if (comm.rank() != 0) {
    for (int k = 0; k < rounds; ++k) {
      int64_t ping = 0;
      if (absl::Status s = comm.Recv(&ping, 1, DType::kI64, 0); !s.ok()) return s;
      const int64_t mine = SteadyNowNs();
      if (absl::Status s = comm.Send(&mine, 1, DType::kI64, 0); !s.ok()) return s;
    }
    int64_t now = 0;  // process 0's instant in this clock
    if (absl::Status s = comm.Recv(&now, 1, DType::kI64, 0); !s.ok()) return s;
    if (absl::Status s = comm.FinishSends(); !s.ok()) return s;
    return AlignedClock{now, {}};
  }
  AlignedClock out{SteadyNowNs(), std::vector<int64_t>(comm.size(), 0)};
  for (int peer = 1; peer < comm.size(); ++peer) {
    int64_t best_round_trip = std::numeric_limits<int64_t>::max(), offset = 0;
    for (int k = 0; k < rounds; ++k) {
      const int64_t sent = SteadyNowNs();
      int64_t theirs = 0;
      if (absl::Status s = comm.Send(&sent, 1, DType::kI64, peer); !s.ok()) return s;
      if (absl::Status s = comm.Recv(&theirs, 1, DType::kI64, peer); !s.ok()) return s;
      const int64_t back = SteadyNowNs();
      if (back - sent < best_round_trip) {
        best_round_trip = back - sent;
        offset = theirs - (sent + back) / 2;  // their clock minus ours
      }
    }
    const int64_t their_now = out.now + offset;
    if (absl::Status s = comm.Send(&their_now, 1, DType::kI64, peer); !s.ok()) return s;
    out.error_ns[peer] = (best_round_trip + 1) / 2;
  }
  if (absl::Status s = comm.FinishSends(); !s.ok()) return s;
  return out;
}

}  // namespace weft::trace

// Trace events to a Chrome trace file (the JSON "traceEvents" format that
// chrome://tracing and ui.perfetto.dev load), and the gathering of every
// process's events under MPI so that one file shows every rank.
#ifndef WEFT_RUNTIME_EXECUTOR_CHROME_TRACE_H
#define WEFT_RUNTIME_EXECUTOR_CHROME_TRACE_H

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/collectives/communicator.h"
#include "runtime/executor/trace.h"

namespace weft::trace {

/// Every process's events, on every process: `mine` from each member of
/// `comm`, in rank order. A collective: every member calls it.
absl::StatusOr<std::vector<Event>> GatherEvents(Communicator &comm, const std::vector<Event> &mine);

/// Writes `events` of a run of artifact `a` to `path`: one process per rank,
/// named "rank r (pp p, dp d, tp t)", one thread per track, and one complete
/// ("X") event per recorded event, whose args name the source op, its
/// location and sharding, the bytes a collective, message or copy moves, and
/// a message's peer rank. Timestamps are microseconds. `clock_error_ns`
/// (per rank; empty when the ranks share one clock) says how far each
/// rank's clock may be off from rank 0's: the process's label shows it.
absl::Status WriteChromeTrace(const fb::Artifact &a, std::vector<Event> events,
                              const std::vector<int64_t> &clock_error_ns, const std::string &path);

}  // namespace weft::trace

#endif  // WEFT_RUNTIME_EXECUTOR_CHROME_TRACE_H

// The schedule checker: a discrete-event simulation of all ranks' lists
// together. It proves a schedule free of deadlock with matching sends and
// receives, and measures its timeline, bubble and in-flight activations.
//
// Semantics (the strictest a runtime may give): compute never waits, so a
// forward or backward whose input was not received (or computed) earlier on
// its rank is an error; a send blocks until the peer posts the matching
// receive and a receive until the send is posted (MPI_Send's rendezvous);
// both finish `comm` after the later of the two. SendMode::kBuffered relaxes
// the sends to measure the timing of a runtime that overlaps them.
#ifndef WEFT_RUNTIME_PIPELINE_SIMULATE_H_
#define WEFT_RUNTIME_PIPELINE_SIMULATE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/pipeline/schedule.h"

namespace weft::pipeline {

// kBlocking: a send waits until its receive is posted (MPI_Send), the
// strictest semantics, under which a schedule that passes runs anywhere.
// kBuffered: a send returns at once (MPI_Isend with the buffer kept) and the
// receive waits for the data: the timing of a runtime that overlaps its sends.
enum class SendMode { kBlocking, kBuffered };

// Per-op durations, the same for every microbatch.
struct Costs {
  double forward = 1;
  double backward = 2;
  double comm = 0;       // latency of one send/receive, from when both are posted
  double optimizer = 0;  // the optimizer step
  // Per global stage (P x V entries), when the stages differ (a cut by the
  // compiler's cost model); empty: every stage takes `forward`/`backward`.
  std::vector<double> stage_forward, stage_backward;
};

struct TimedInstruction {
  double start = 0;  // when the rank reached it (for a send or receive: posted it)
  double end = 0;    // when it finished (for a send or receive: the transfer did)
};

struct Simulation {
  SendMode sends = SendMode::kBlocking;  // the semantics it ran under
  // timeline[r][i]: instruction i of rank r's list. A rank runs its list in
  // order, so this is also time order.
  std::vector<std::vector<TimedInstruction>> timeline;
  double makespan = 0;                // the last end over all ranks
  std::vector<double> busy;           // compute time (forward, backward, optimizer) per rank
  double bubble_fraction = 0;         // idle time / (ranks * makespan)
  std::vector<int> peak_activations;  // most forwards done whose backward has not run, per rank
};

// Checks `schedule` and simulates it. The error names the rank, the
// instruction (its index and name) and what it waits for or lacks.
absl::StatusOr<Simulation> Simulate(const Schedule &schedule, const Costs &costs = {},
                                    SendMode mode = SendMode::kBlocking);

}  // namespace weft::pipeline

#endif  // WEFT_RUNTIME_PIPELINE_SIMULATE_H_

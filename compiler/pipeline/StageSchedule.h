//===- StageSchedule.h - a stage plan run through the schedule core ------===//
//
// Builds the per-rank lists of a schedule (runtime/pipeline, LLVM-free) for a
// stage plan and simulates them with the plan's stage times: the check that
// the lists cannot deadlock, and the bubble the cut and schedule give.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_PIPELINE_STAGESCHEDULE_H
#define WEFT_COMPILER_PIPELINE_STAGESCHEDULE_H

#include "compiler/pipeline/StageCut.h"

namespace mlir::weft {

struct PipelineEstimate {
  std::string schedule;
  int64_t ranks = 1, virtualStages = 1, microbatches = 1;
  double makespan = 0;       // seconds, one batch, forward and backward
  double bubbleFraction = 0; // idle / (ranks x makespan)
  std::vector<int> peakActivations; // in-flight microbatches per rank
};

/// Schedules `plan` (ranks x virtualStages stages) with `microbatches` and
/// the schedule named `schedule` (gpipe, 1f1b, interleaved), a backward
/// taking twice its stage's forward, and simulates it with buffered sends
/// after checking it with blocking ones. The schedule core's refusals (e.g.
/// interleaved with M not a multiple of P) become errors at `forward`.
/// `perMicrobatch` scales the stages' times to one microbatch's: 1 when the
/// plan was cut from a microbatch's @forward (weft-pipeline), 1 / (dp x M)
/// when from the whole batch's (weftc --stats).
FailureOr<PipelineEstimate> simulateStagePlan(func::FuncOp forward, const StagePlan &plan,
                                              int64_t ranks, int64_t virtualStages,
                                              int64_t microbatches, llvm::StringRef schedule,
                                              double perMicrobatch = 1.0);

void printPipelineEstimate(const PipelineEstimate &estimate, llvm::raw_ostream &os);

} // namespace mlir::weft

#endif

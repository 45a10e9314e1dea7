//===- StageSchedule.cpp -------------------------------------------------===//
#include "compiler/pipeline/StageSchedule.h"
#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::weft;
namespace pl = ::weft::pipeline;

FailureOr<PipelineEstimate> mlir::weft::simulateStagePlan(func::FuncOp forward,
                                                          const StagePlan &plan, int64_t ranks,
                                                          int64_t virtualStages,
                                                          int64_t microbatches,
                                                          llvm::StringRef schedule,
                                                          double perMicrobatch) {
  auto kind = pl::ParseScheduleKind(schedule.str());
  if (!kind.ok())
    return forward.emitError() << "--schedule: " << std::string(kind.status().message());
  pl::ScheduleOptions options;
  options.kind = *kind;
  options.stages = ranks;
  options.microbatches = microbatches;
  options.virtual_stages = virtualStages;
  auto built = pl::BuildSchedule(options);
  if (!built.ok())
    return forward.emitError() << "pipeline schedule: " << std::string(built.status().message());

  // Stage times in microseconds keep the simulator's sums in a sane range.
  pl::Costs costs;
  for (const Stage &s : plan.stages) {
    costs.stage_forward.push_back(s.time * perMicrobatch * 1e6);
    costs.stage_backward.push_back(2 * s.time * perMicrobatch * 1e6);
  }
  // A stage with no cost (an empty model) would make the bubble meaningless.
  for (double &f : costs.stage_forward)
    f = std::max(f, 1e-9);
  for (double &b : costs.stage_backward)
    b = std::max(b, 2e-9);
  auto strict = pl::Simulate(*built, costs, pl::SendMode::kBlocking);
  if (!strict.ok())
    return forward.emitError() << "pipeline schedule check failed: " << std::string(strict.status().message());
  auto timed = pl::Simulate(*built, costs, pl::SendMode::kBuffered);
  if (!timed.ok())
    return forward.emitError() << "pipeline schedule check failed: " << std::string(timed.status().message());

  PipelineEstimate e;
  e.schedule = pl::ScheduleKindName(*kind);
  e.ranks = ranks;
  e.virtualStages = virtualStages;
  e.microbatches = microbatches;
  e.makespan = timed->makespan * 1e-6;
  e.bubbleFraction = timed->bubble_fraction;
  e.peakActivations = timed->peak_activations;
  return e;
}

void mlir::weft::printPipelineEstimate(const PipelineEstimate &e, llvm::raw_ostream &os) {
  os << "schedule: " << e.schedule << ", " << e.microbatches << " microbatches";
  if (e.virtualStages > 1)
    os << ", " << e.virtualStages << " virtual stages per rank";
  os << " (a microbatch's forward: the stage's time / (dp x M); backward = 2 x forward; sends "
        "overlapped)\n";
  os << llvm::format("  step time %.3f us, bubble %.1f%%\n", e.makespan * 1e6,
                     e.bubbleFraction * 100);
  os << "  peak in-flight microbatches per rank:";
  for (int p : e.peakActivations)
    os << " " << p;
  os << "\n";
}

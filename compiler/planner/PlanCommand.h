//===- PlanCommand.h - weftc's --plan=auto, --devices, --cluster ----------===//
//
// The driver side of the planner, kept out of weftc.cpp so that the tool
// only declares the flags and makes one call: it checks the flags, loads the
// cluster, plans, prints (--plan-only, --explain[=json]) or hands the chosen
// mesh back for weftc to compile as if the user had written --mesh.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_PLANNER_PLANCOMMAND_H
#define WEFT_COMPILER_PLANNER_PLANCOMMAND_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::weft {

struct PlanRequest {
  std::string plan;      // --plan: "auto"
  int64_t devices = 0;   // --devices (0: not given)
  std::string cluster;   // --cluster: a preset or FILE.json (default cpu-sim-8)
  std::string calibration; // --calibration: FILE.json from bench/gpu/calibrate
  std::string precision; // --plan-precision: auto, bf16 or f32
  // The precision came from --precision (the program's), not --plan-precision:
  // bf16 on a cluster without a bf16 peak costs at the f32 peak, which is what
  // such a device runs bf16-input matmuls at (the CPU backend does).
  bool precisionFromProgram = false;
  bool planOnly = false; // --plan-only
  bool explain = false, explainJson = false;
  std::string train;     // --train
  std::string mesh;      // --mesh: axes named there are fixed
  int64_t microbatches = 0; // 0: free
  std::string schedule;     // empty: free
  int zero = -1, recompute = -1; // -1: free
  bool compiling = false;   // -o given (and not --plan-only)
};

struct PlanDecision {
  bool done = true; // printed (or failed): weftc exits with exitCode
  int exitCode = 0;
  // Otherwise compile this plan as --mesh=... would.
  std::string mesh; // "dp=4,tp=2" (and ",pp=P" when pipelined)
  int64_t pp = 1, microbatches = 1, virtualStages = 1;
  std::string schedule;
  bool recompute = false;
  int zero = 0;
  bool ilp = false; // the tp split is the ILP's, written on @forward as weft.sharding
  // For the artifact's PlanInfo (weft-dump --plan): the cluster and the
  // predicted step.
  std::string cluster, deviceKind, summary;
  int64_t devicesPerNode = 1, nodes = 0;
  double stepTime = 0, compute = 0, communication = 0, bubble = 0, tflopsPerDevice = 0;
};

/// Records `d` on the module as `weft.plan`, which the artifact writer turns
/// into the artifact's PlanInfo table.
void recordPlan(ModuleOp module, const PlanDecision &d);

/// Runs the planner for weftc. Errors go to stderr ("weftc: error: ..." or a
/// diagnostic at the model); the plan to stdout, or to stderr when an
/// artifact is being written.
PlanDecision runPlanCommand(ModuleOp module, const PlanRequest &request);

} // namespace mlir::weft

#endif

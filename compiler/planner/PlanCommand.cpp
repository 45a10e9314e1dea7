//===- PlanCommand.cpp ---------------------------------------------------===//
#include "compiler/planner/PlanCommand.h"
#include "compiler/planner/Planner.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::weft;

static PlanDecision failWith(const llvm::Twine &msg) {
  llvm::errs() << "weftc: error: " << msg << "\n";
  PlanDecision d;
  d.exitCode = 1;
  return d;
}

PlanDecision mlir::weft::runPlanCommand(ModuleOp module, const PlanRequest &req) {
  if (req.plan != "auto")
    return failWith(req.plan.empty()
                        ? llvm::Twine("--devices, --cluster and --plan-only go with --plan=auto")
                        : "--plan=" + req.plan + ": expected auto");
  if (req.devices < 1)
    return failWith("--plan=auto needs --devices=N (N >= 1): the devices to plan for");
  if (req.train != "adamw" && req.train != "sgd")
    return failWith("--plan=auto plans a training step: add --train=adamw or --train=sgd");
  if (req.explain && req.compiling)
    return failWith("--explain prints the plans and compiles nothing; drop -o (or use "
                    "--plan=auto -o model.weft without --explain to compile the chosen plan)");

  PlannerOptions o;
  std::string error;
  auto cluster = loadCluster(req.cluster.empty() ? "cpu-sim-8" : req.cluster, error);
  if (!cluster)
    return failWith(error);
  o.cluster = *cluster;
  o.devices = req.devices;
  o.train = req.train;
  if (req.precision.empty() || req.precision == "auto")
    o.bf16 = o.cluster.device.peakBf16 > 0;
  else if (req.precision == "bf16" || req.precision == "f32")
    o.bf16 = req.precision == "bf16";
  else
    return failWith("--plan-precision=" + req.precision + ": expected auto, bf16 or f32");
  if (o.bf16 && o.cluster.device.peakBf16 <= 0)
    return failWith("--plan-precision=bf16: cluster " + o.cluster.name +
                    " gives no bf16 peak (peak_tflops_bf16)");

  // --mesh with --plan=auto fixes the axes it names; the planner picks the rest.
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(req.mesh).split(parts, ',', -1, false);
  for (llvm::StringRef part : parts) {
    auto [axis, value] = part.split('=');
    int64_t size;
    if (value.trim().getAsInteger(10, size) || size < 1)
      return failWith("--mesh: '" + part + "' is not axis=size with a positive size");
    axis = axis.trim();
    if (axis == "dp")
      o.fixDp = size;
    else if (axis == "tp")
      o.fixTp = size;
    else if (axis == "pp")
      o.fixPp = size;
    else
      return failWith("--mesh: unknown axis '" + axis + "' for --plan=auto; expected dp, tp or pp");
  }
  o.fixMicrobatches = req.microbatches;
  o.fixSchedule = req.schedule;
  if (!o.fixSchedule.empty() && o.fixSchedule != "1f1b" && o.fixSchedule != "gpipe" &&
      o.fixSchedule != "interleaved")
    return failWith("--schedule=" + o.fixSchedule + ": expected gpipe, 1f1b or interleaved");
  o.fixZero = req.zero;
  o.fixRecompute = req.recompute;
  o.perMesh = req.explain;

  for (auto [axis, size] : {std::pair{"dp", o.fixDp}, {"tp", o.fixTp}, {"pp", o.fixPp}})
    if (size && req.devices % size != 0)
      return failWith(llvm::Twine("--mesh: ") + axis + "=" + std::to_string(size) +
                      " does not divide --devices=" + std::to_string(req.devices));
  FailureOr<PlanResult> result = planPlacement(module, o);
  if (failed(result)) {
    PlanDecision d; // the diagnostic at the model says why
    d.exitCode = 1;
    return d;
  }
  llvm::raw_ostream &os = req.compiling ? llvm::errs() : llvm::outs();
  if (req.explainJson)
    os << llvm::formatv("{0:2}", planToJson(*result, o)) << "\n";
  else
    printPlan(*result, o, req.explain, os);
  if (result->top.empty()) {
    std::string msg = "no plan fits in the memory of " + std::to_string(req.devices) +
                      " devices of " + o.cluster.name;
    if (result->smallestFitting) {
      msg += "; the smallest device count that fits is " + std::to_string(result->smallestFitting) +
             " (--devices=" + std::to_string(result->smallestFitting) + ")";
      if (o.cluster.maxDevices() && result->smallestFitting > o.cluster.maxDevices())
        msg += ", more than the " + std::to_string(o.cluster.maxDevices()) + " devices of " +
               o.cluster.name;
    }
    else
      msg += ", nor of up to 64 times as many";
    return failWith(msg);
  }
  PlanDecision d;
  if (req.planOnly || req.explain || !req.compiling)
    return d; // printed; nothing to compile
  const Plan &p = result->top[0];
  if (p.pp == 1 && p.microbatches > 1)
    return failWith("the chosen plan (" + p.summary() + ") accumulates gradients over " +
                    std::to_string(p.microbatches) +
                    " microbatches, which weftc compiles only with pipelines (issue 6); "
                    "--plan-only prints it, --microbatches=1 plans without accumulation");
  d.done = false;
  d.mesh = "dp=" + std::to_string(p.dp) + ",tp=" + std::to_string(p.tp);
  d.pp = p.pp;
  if (p.pp > 1) {
    d.mesh += ",pp=" + std::to_string(p.pp);
    d.microbatches = p.microbatches;
    d.virtualStages = p.virtualStages;
    d.schedule = scheduleChoiceName(p.schedule);
    llvm::errs() << "weftc: note: the chosen plan is a pipeline (" << p.summary()
                 << "), compiled as --mesh with --microbatches, --schedule and "
                    "--virtual-stages\n";
  }
  d.recompute = p.recompute;
  d.zero = p.zero;
  return d;
}

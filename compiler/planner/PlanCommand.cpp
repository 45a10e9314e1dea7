//===- PlanCommand.cpp ---------------------------------------------------===//
#include "compiler/planner/PlanCommand.h"
#include "compiler/planner/Planner.h"
#include "compiler/analysis/ShardingAnalysis.h"
#include "compiler/pipelines/Pipelines.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/SmallVector.h"

#include <map>
#include <optional>
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

// The chosen plan's per-op shardings: a clone of @forward partitioned for its
// dp x tp (one microbatch's shapes under pp) by the passes that compile it,
// read back by the analysis behind `weftc --explain`; under pp each op also
// names the stage the planner's cut puts it on.
static LogicalResult explainChosenPlan(ModuleOp module, const PlanResult &result, bool json,
                                       llvm::json::Object *root, llvm::raw_ostream &os) {
  const Plan &p = result.top[0];
  OwningOpRef<ModuleOp> clone = module.clone();
  PassManager pm(module.getContext());
  WeftPipelineOptions options;
  options.dp = p.dp;
  options.tp = p.tp;
  options.pp = p.pp;
  options.microbatches = p.pp > 1 ? p.microbatches : 1;
  options.annotated = hasShardingAnnotations(module);
  addWeftPartitionPipeline(pm, options);
  LogicalResult partitioned = success();
  {
    // Where the patterns fail for this tp, the ILP split every layer: show
    // the dp split, with the ILP's choices per op.
    std::optional<ScopedDiagnosticHandler> quiet;
    if (p.ilpSegments)
      quiet.emplace(module.getContext(), [&](Diagnostic &) { return success(); });
    partitioned = pm.run(*clone);
  }
  const bool fellBack = failed(partitioned);
  if (fellBack) {
    if (!p.ilpSegments)
      return failure(); // the pass has said where and why
    clone = module.clone();
    PassManager dpOnly(module.getContext());
    options.tp = 1;
    addWeftPartitionPipeline(dpOnly, options);
    if (failed(dpOnly.run(*clone)))
      return failure();
  }
  func::FuncOp fn = getForward(*clone);
  // Ops go with their weft.block (untagged ones with the block before them,
  // those after the last block with it), as the stage cutter assigns them.
  llvm::DenseMap<Operation *, int64_t> stageOf;
  if (p.pp > 1) {
    int64_t blocks = 0, lastTagged = -1, i = 0;
    llvm::SmallVector<std::pair<Operation *, int64_t>> units;
    for (Operation &op : fn.getBody().front().without_terminator()) {
      int64_t current = units.empty() ? -1 : units.back().second;
      if (auto tag = op.getAttrOfType<IntegerAttr>("weft.block")) {
        current = tag.getInt();
        blocks = std::max(blocks, current + 1);
        lastTagged = i;
      }
      units.push_back({&op, current});
      ++i;
    }
    for (int64_t j = 0; j < static_cast<int64_t>(units.size()); ++j) {
      int64_t unit = j > lastTagged ? blocks - 1 : std::clamp<int64_t>(units[j].second, 0, blocks - 1);
      auto it = std::upper_bound(p.stageStarts.begin(), p.stageStarts.end(), unit);
      stageOf[units[j].first] = std::max<int64_t>(it - p.stageStarts.begin() - 1, 0);
    }
  }
  // Ops the ILP split (layers the patterns leave whole, so whole in this
  // clone too): matched by location, name and order.
  std::map<std::string, std::vector<const IlpOpChoice *>> ilpOf;
  for (const IlpOpChoice &c : result.ilpChoices)
    ilpOf[c.loc + " " + c.op].push_back(&c);
  std::map<std::string, size_t> seen;
  llvm::DenseMap<Operation *, const IlpOpChoice *> ilpOp;
  for (Operation &op : fn.getBody().front().without_terminator()) {
    auto it = ilpOf.find(locationString(op.getLoc()) + " " + op.getName().getStringRef().str());
    if (it == ilpOf.end())
      continue;
    size_t &n = seen[it->first];
    if (n < it->second.size())
      ilpOp[&op] = it->second[n++];
  }
  auto stageText = [&](Operation *op) -> std::string {
    std::string s;
    if (const IlpOpChoice *c = ilpOp.lookup(op))
      s = "ilp over tp: " + c->strategy;
    auto it = stageOf.find(op);
    if (it == stageOf.end())
      return s;
    s += (s.empty() ? "" : "; ") + std::string("stage ") + std::to_string(it->second) + ", pp rank " +
                    std::to_string(it->second % p.pp);
    if (p.virtualStages > 1)
      s += ", chunk " + std::to_string(it->second / p.pp);
    return s;
  };
  auto stageJson = [&](Operation *op, llvm::json::Object &o) {
    if (const IlpOpChoice *c = ilpOp.lookup(op))
      o["ilp_tp"] = c->strategy;
    auto it = stageOf.find(op);
    if (it == stageOf.end())
      return;
    o["stage"] = it->second;
    o["pp_rank"] = it->second % p.pp;
  };
  ExplanationExtras extras{stageText, stageJson};
  if (root) {
    (*root)["op_shardings"] = shardingExplanationJson(fn, extras);
    return success();
  }
  os << "\nthe chosen plan's shardings (" << p.mesh() << ")";
  if (p.pp > 1)
    os << ", @forward of one microbatch";
  os << ":\n";
  if (fellBack)
    os << "(the Megatron patterns do not apply at tp=" << p.tp
       << ": below is the dp split, and each op's tp split is the ILP's)\n";
  printShardingExplanation(fn, os, /*json=*/false, extras);
  return success();
}

PlanDecision mlir::weft::runPlanCommand(ModuleOp module, const PlanRequest &req) {
  if (req.plan != "auto")
    return failWith(req.plan.empty()
                        ? llvm::Twine("--devices, --cluster, --calibration and --plan-only go with --plan=auto")
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
  if (!req.calibration.empty()) {
    std::optional<Calibration> cal = loadCalibration(req.calibration, error);
    if (!cal)
      return failWith("--calibration=" + error);
    applyCalibration(o.cluster, *cal, req.calibration);
  }
  o.devices = req.devices;
  o.train = req.train;
  if (req.precision.empty() || req.precision == "auto")
    o.bf16 = o.cluster.device.peakBf16 > 0;
  else if (req.precision == "bf16" || req.precision == "f32")
    o.bf16 = req.precision == "bf16";
  else
    return failWith("--plan-precision=" + req.precision + ": expected auto, bf16 or f32");
  if (o.bf16 && o.cluster.device.peakBf16 <= 0 && req.precisionFromProgram)
    o.bf16 = false;
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
  // A plan to compile may take its tp split from the ILP (compiled as
  // weft.sharding annotations), unless the model brings its own annotations.
  o.compiling = req.compiling;
  o.ilp = !(req.compiling && hasShardingAnnotations(module));

  for (auto [axis, size] : {std::pair{"dp", o.fixDp}, {"tp", o.fixTp}, {"pp", o.fixPp}})
    if (size && req.devices % size != 0)
      return failWith(llvm::Twine("--mesh: ") + axis + "=" + std::to_string(size) +
                      " does not divide --devices=" + std::to_string(req.devices));
  // The fixed axes together must fit the devices too (dp=2,tp=2,pp=2 on 4).
  const int64_t fixed = (o.fixDp ? o.fixDp : 1) * (o.fixTp ? o.fixTp : 1) * (o.fixPp ? o.fixPp : 1);
  if (req.devices % fixed != 0 || (o.fixDp && o.fixTp && o.fixPp && fixed != req.devices))
    return failWith("--mesh=" + req.mesh + " needs " + std::to_string(fixed) +
                    " devices (or a multiple, with an axis left free); --devices=" +
                    std::to_string(req.devices));
  FailureOr<PlanResult> result = planPlacement(module, o);
  if (failed(result)) {
    PlanDecision d; // the diagnostic at the model says why
    d.exitCode = 1;
    return d;
  }
  llvm::raw_ostream &os = req.compiling ? llvm::errs() : llvm::outs();
  if (req.explainJson) {
    llvm::json::Value v = planToJson(*result, o);
    if (!result->top.empty() &&
        failed(explainChosenPlan(module, *result, true, v.getAsObject(), os)))
      return failWith("the chosen plan's shardings could not be explained (see above)");
    os << llvm::formatv("{0:2}", v) << "\n";
  } else {
    printPlan(*result, o, req.explain, os);
    if (req.explain && !result->top.empty() &&
        failed(explainChosenPlan(module, *result, false, nullptr, os)))
      return failWith("the chosen plan's shardings could not be explained (see above)");
  }
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
  if (p.ilpSegments) {
    annotateIlpChoice(module, *result, p.dp);
    d.ilp = true;
    llvm::errs() << "weftc: note: the chosen plan's tp split comes from the sharding ILP ("
                 << p.ilpSegments << (p.ilpSegments == 1 ? " segment" : " segments")
                 << "): compiled as weft.sharding annotations on @forward through "
                    "weft-partition-annotated\n";
  }
  d.recompute = p.recompute;
  d.zero = p.zero;
  d.cluster = o.cluster.name;
  d.deviceKind = o.cluster.device.kind;
  d.devicesPerNode = o.cluster.devicesPerNode;
  d.nodes = o.cluster.nodes;
  d.summary = p.summary() + (p.ilpSegments ? " tp-from-ilp" : "");
  d.stepTime = p.stepTime;
  d.compute = p.compute;
  d.communication = p.communication;
  d.bubble = p.bubble;
  d.tflopsPerDevice = p.tflopsPerDevice;
  return d;
}

void mlir::weft::recordPlan(ModuleOp module, const PlanDecision &d) {
  Builder b(module.getContext());
  module->setAttr("weft.plan",
                  b.getDictionaryAttr({
                      b.getNamedAttr("cluster", b.getStringAttr(d.cluster)),
                      b.getNamedAttr("device_kind", b.getStringAttr(d.deviceKind)),
                      b.getNamedAttr("devices_per_node", b.getI64IntegerAttr(d.devicesPerNode)),
                      b.getNamedAttr("nodes", b.getI64IntegerAttr(d.nodes)),
                      b.getNamedAttr("summary", b.getStringAttr(d.summary)),
                      b.getNamedAttr("step_time_s", b.getF64FloatAttr(d.stepTime)),
                      b.getNamedAttr("compute_s", b.getF64FloatAttr(d.compute)),
                      b.getNamedAttr("communication_s", b.getF64FloatAttr(d.communication)),
                      b.getNamedAttr("bubble_s", b.getF64FloatAttr(d.bubble)),
                      b.getNamedAttr("tflops_per_device", b.getF64FloatAttr(d.tflopsPerDevice)),
                  }));
}

//===- Planner.h - weftc --plan=auto: choose dp x tp x pp and the rest ----===//
//
// The planner (issue 8). For N devices of a cluster it enumerates the meshes
// dp x tp x pp (tp innermost, at most a node; pp at most the layers), and for
// each the microbatch count, the schedule, recompute and ZeRO-1. Costs come
// from the model itself: @forward is partitioned for each tp by the real
// tensor-parallel pass (so tp must divide what Megatron's split divides: the
// heads, the MLP width), and each op's FLOPs and bytes on the local shapes
// give a roofline time on the cluster's device (compiler/cost/CostModel.h);
// the pass's collectives give the tp traffic. Identical layers (the same ops
// on the same shapes) are costed once. The stages are cut by the stage
// cutter's DP (balanceCuts) and each plan's step is simulated with the
// pipeline schedule core (runtime/pipeline/simulate.h). The fastest plan that
// fits in every device's memory wins; ties go to the smaller key (dp, tp,
// pp, ...), so the answer is deterministic.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_PLANNER_PLANNER_H
#define WEFT_COMPILER_PLANNER_PLANNER_H

#include "compiler/cost/Cluster.h"
#include "compiler/cost/CostModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::weft {

struct PlannerOptions {
  ClusterSpec cluster;
  int64_t devices = 1;
  std::string train = "adamw"; // sgd or adamw: the optimizer state
  bool bf16 = false;           // mixed precision (bf16 compute, fp32 master weights)
  // Constraints (0 or -1: free): `--mesh` axes, --microbatches, --schedule...
  int64_t fixDp = 0, fixTp = 0, fixPp = 0, fixMicrobatches = 0;
  std::string fixSchedule;
  int fixZero = -1, fixRecompute = -1;
  int64_t topK = 5;
  bool perMesh = false; // also find each mesh's best plan (for --explain)
  // Layers the Megatron patterns leave whole are split by the per-op
  // sharding ILP (ShardingIlp.h).
  bool ilp = true;
  // The plan is to be compiled: weftc compiles the ILP's split as weft.sharding
  // annotations (the GSPMD path), which replaces the patterns everywhere and
  // refuses pp and ZeRO-1. So the ILP is used only for a tp whose patterns
  // split nothing, and its candidates are pp = 1, M = 1, ZeRO-1 off.
  bool compiling = false;
};

/// An op's tp sharding chosen by the ILP, for --explain.
struct IlpOpChoice {
  std::string loc, op, strategy; // "x.mlir:4:8", "weft.matmul", "S0 x R -> S0"
  int64_t segment = 0;           // 0 the prologue, 1 + b layer b, then the epilogue
  int64_t sameAs = -1;           // a repeated layer: the segment solved for it
};

/// A parameter's layout chosen by the ILP, as weft.sharding.
struct IlpArgChoice {
  unsigned arg = 0;       // @forward's argument number
  std::string annotation; // "tp:0" or "replicated"
};

struct Plan {
  int64_t dp = 1, tp = 1, pp = 1, microbatches = 1, virtualStages = 1;
  ScheduleChoice schedule = ScheduleChoice::kNone;
  bool recompute = false;
  int zero = 0;

  // Predictions (seconds, bytes).
  double stepTime = 0, compute = 0, communication = 0, bubble = 0;
  double lowerBound = 0;
  bool simulated = false;
  MemoryBreakdown peakMemory; // of the device with the most
  std::vector<double> memoryPerRank; // per pipeline rank
  double capacity = 0;        // usable bytes per device
  bool fits = false;
  double modelFlops = 0;      // per step, all devices (Megatron's count)
  double tflopsPerDevice = 0;
  std::vector<int64_t> stageStarts; // first unit (layer) of each stage
  std::vector<double> stageForward, stageBackward; // per stage, seconds per microbatch
  int64_t ilpSegments = 0; // segments (layers) split by the ILP rather than the patterns

  std::string mesh() const; // "dp=4,tp=2,pp=1"
  std::string summary() const; // "dp=4,tp=2,pp=1 M=1 1f1b recompute zero1"
};

struct MeshVerdict {
  int64_t dp = 1, tp = 1, pp = 1;
  std::optional<Plan> best;     // its fastest plan that fits
  std::optional<Plan> leanest;  // when none fits: the plan with the least memory
  std::string reason;           // why it lost (empty for the winner's mesh)
};

struct PlanResult {
  std::vector<Plan> top; // fastest first; top[0] is the choice
  std::vector<MeshVerdict> meshes;
  int64_t evaluated = 0, simulated = 0;
  double seconds = 0;
  int64_t smallestFitting = 0; // when nothing fits: the fewest devices that would (0: none found)
  std::vector<std::string> notes; // meshes that cannot be built at all, and why
  int64_t batch = 0, layers = 0;
  double paramCount = 0;
  std::vector<IlpOpChoice> ilpChoices; // the chosen plan's ILP-split ops (one per repeated layer)
  std::vector<IlpArgChoice> ilpArgs;   // and their parameters' layouts
  double ilpSeconds = 0;               // time spent in CBC
  int64_t ilpSolves = 0;
};

/// Plans `module` (a verified model). Fails, with a diagnostic at the model,
/// when the request is impossible (no input with a batch, more devices than
/// the cluster has, a constraint that no mesh meets).
FailureOr<PlanResult> planPlacement(ModuleOp module, const PlannerOptions &options);

/// Writes the chosen plan's ILP split onto `module`'s @forward as weft.sharding
/// annotations, so that weftc compiles it through weft-partition-annotated:
/// the parameters' layouts, and the inputs split over dp only. The ops are
/// left to the propagation, which derives the ILP's op splits from the
/// parameters' (a result annotation that disagrees with its operands is what
/// upstream shard-partition cannot lay out: it types the result split and
/// computes it whole).
void annotateIlpChoice(ModuleOp module, const PlanResult &result, int64_t dp);

void printPlan(const PlanResult &result, const PlannerOptions &options, bool explain,
               llvm::raw_ostream &os);
llvm::json::Value planToJson(const PlanResult &result, const PlannerOptions &options);

} // namespace mlir::weft

#endif

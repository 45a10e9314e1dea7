//===- Planner.cpp -------------------------------------------------------===//
#include "compiler/planner/Planner.h"
#include "compiler/planner/ShardingIlp.h"
#include "compiler/analysis/ShardingAnalysis.h"
#include "compiler/pipeline/StageCut.h"
#include "compiler/pipelines/Pipelines.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"
#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

using namespace mlir;
using namespace mlir::weft;
namespace pl = ::weft::pipeline;

static constexpr double kInf = std::numeric_limits<double>::infinity();
static constexpr double GiB = 1024.0 * 1024 * 1024;

std::string Plan::mesh() const {
  return "dp=" + std::to_string(dp) + ",tp=" + std::to_string(tp) + ",pp=" + std::to_string(pp);
}

std::string Plan::summary() const {
  std::string s = mesh();
  if (pp > 1) {
    s += " M=" + std::to_string(microbatches) + " " + scheduleChoiceName(schedule);
    if (virtualStages > 1)
      s += "(V=" + std::to_string(virtualStages) + ")";
  } else if (microbatches > 1) {
    s += " M=" + std::to_string(microbatches) + " accumulated";
  }
  if (recompute)
    s += " recompute";
  if (zero)
    s += " zero1";
  return s;
}

//===----------------------------------------------------------------------===//
// The model's profile for one tp: segments (prologue, each weft.block,
// epilogue) with their ops' costs on the local shapes at the full batch.
//===----------------------------------------------------------------------===//

namespace {
struct OpCost {
  bool matmul = false;
  double flops = 0, act = 0, param = 0; // at the model's batch; bytes in the compute precision
};
struct CommItem {
  bool gather = false; // all-gather / reduce-scatter; otherwise all-reduce
  double bytes = 0;    // at the model's batch
};
struct Segment {
  bool block = false;
  int canon = -1; // the first segment with the same ops and shapes: costed once
  std::vector<OpCost> ops;
  std::vector<CommItem> fwdComm, bwdComm;
  double stored = 0;     // activation bytes the forward keeps for the backward
  double checkpoint = 0; // bytes of the values it reads from earlier segments (its input)
  double out = 0;        // bytes it passes to later segments
  double paramElements = 0; // parameters only it uses
  double modelFlops = 0;    // matmul and attention FLOPs (Megatron's count), tp = 1 only
};
struct SharedParam {
  double elements = 0;
  std::vector<int> segments; // more than one: a tied weight
};
struct Profile {
  bool ok = false;
  std::string error;
  int64_t blocks = 0;
  std::vector<Segment> segs; // [0] prologue, [1 + b] block b, [1 + blocks] epilogue
  std::vector<SharedParam> shared;
  double paramElements = 0;
  std::vector<std::vector<Operation *>> segOps; // tp = 1 only: the model's ops per segment
  int64_t ilpSegments = 0;
  std::vector<IlpOpChoice> ilpChoices;
  std::vector<IlpArgChoice> ilpArgs;
  int unitOf(int seg) const {
    if (blocks == 0)
      return 0;
    return std::clamp<int>(seg - 1, 0, static_cast<int>(blocks) - 1);
  }
  int64_t units() const { return std::max<int64_t>(blocks, 1); }
};
} // namespace

static double scaledBytes(Type t, bool bf16) {
  auto rt = llvm::cast<RankedTensorType>(t);
  Type e = rt.getElementType();
  double per = e.isF32() && bf16 ? 2.0 : static_cast<double>(elementBytes(e));
  return static_cast<double>(rt.getNumElements()) * per;
}

// Megatron's FLOP count: the matrix products only (attention's q k^T and p v,
// not its softmax).
static double modelFlopsOf(Operation *op) {
  if (auto mm = llvm::dyn_cast<MatmulOp>(op))
    return static_cast<double>(mm.getFlops());
  if (auto at = llvm::dyn_cast<AttentionOp>(op)) {
    auto q = at.getQ().getType(), k = at.getK().getType(), v = at.getV().getType();
    double scores = static_cast<double>(q.getDimSize(0)) * q.getDimSize(1) * q.getDimSize(2) *
                    k.getDimSize(2);
    return 2 * scores * q.getDimSize(3) + 2 * scores * v.getDimSize(3);
  }
  return 0;
}

static std::string typeKey(Operation *op) {
  std::string s = op->getName().getStringRef().str();
  llvm::raw_string_ostream os(s);
  for (Type t : op->getOperandTypes())
    os << ' ' << t;
  os << " ->";
  for (Type t : op->getResultTypes())
    os << ' ' << t;
  return s;
}

static Profile profileForward(func::FuncOp fn, bool bf16, bool withModelFlops) {
  Profile p;
  Block &body = fn.getBody().front();
  // Segments as the stage cutter assigns ops: before block 0 the prologue,
  // untagged ops between blocks with the block before them, after the last
  // tagged op the epilogue.
  llvm::SmallVector<std::pair<Operation *, int>> ops;
  int64_t current = -1, lastTagged = -1, i = 0;
  for (Operation &op : body.without_terminator()) {
    if (auto tag = op.getAttrOfType<IntegerAttr>("weft.block")) {
      current = tag.getInt();
      p.blocks = std::max(p.blocks, current + 1);
      lastTagged = i;
    }
    ops.push_back({&op, static_cast<int>(current + 1)});
    ++i;
  }
  for (int64_t j = lastTagged + 1; j < static_cast<int64_t>(ops.size()); ++j)
    ops[j].second = static_cast<int>(p.blocks + 1);
  p.segs.resize(p.blocks + 2);
  for (int64_t b = 0; b < p.blocks; ++b)
    p.segs[b + 1].block = true;
  p.segOps.resize(p.segs.size());
  for (auto &[op, s] : ops)
    p.segOps[s].push_back(op);

  llvm::DenseMap<Operation *, int> segOf;
  for (auto &[op, s] : ops)
    segOf[op] = s;
  auto isParam = [&](Value v) {
    auto arg = llvm::dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == &body && fn.getArgAttr(arg.getArgNumber(), WeftDialect::kParam);
  };

  std::vector<std::string> signature(p.segs.size());
  llvm::DenseSet<Value> seenInput;
  for (auto &[op, s] : ops) {
    Segment &seg = p.segs[s];
    signature[s] += typeKey(op) + ";";
    llvm::StringRef name = op->getName().getStringRef();
    if (name == "shard.all_reduce") {
      seg.fwdComm.push_back({false, scaledBytes(op->getOperand(0).getType(), bf16)});
    } else if (name == "shard.all_gather" || name == "shard.reduce_scatter") {
      Type big = name == "shard.all_gather" ? op->getResult(0).getType() : op->getOperand(0).getType();
      seg.fwdComm.push_back({true, scaledBytes(big, bf16)});
    } else if (llvm::isa<TpCopyOp>(op)) {
      // Megatron's f: an identity forward, an all-reduce of the gradient.
      seg.bwdComm.push_back({false, scaledBytes(op->getResult(0).getType(), bf16)});
    } else if (llvm::isa<TpGatherOp>(op)) {
      double bytes = scaledBytes(op->getResult(0).getType(), bf16);
      seg.fwdComm.push_back({true, bytes});
      seg.bwdComm.push_back({true, bytes}); // its gradient: a reduce-scatter
    }
    if (auto cost = llvm::dyn_cast<CostOpInterface>(op)) {
      OpCost c;
      c.matmul = llvm::isa<MatmulOp, AttentionOp>(op);
      c.flops = static_cast<double>(cost.getFlops());
      for (Value v : op->getOperands())
        (isParam(v) ? c.param : c.act) += scaledBytes(v.getType(), bf16);
      for (Type t : op->getResultTypes())
        c.act += scaledBytes(t, bf16);
      seg.ops.push_back(c);
      if (withModelFlops)
        seg.modelFlops += modelFlopsOf(op);
      // Views and broadcasts fuse into their users; everything else is kept
      // for the backward unless the layer is recomputed.
      if (!llvm::isa<ReshapeOp, BroadcastInDimOp, ConstantOp>(op))
        for (Type t : op->getResultTypes())
          seg.stored += scaledBytes(t, bf16);
    } else if (name == "shard.all_reduce" || name == "shard.all_gather") {
      seg.stored += scaledBytes(op->getResult(0).getType(), bf16);
    }
    // What it reads from earlier segments: its checkpoint under recompute.
    for (Value v : op->getOperands()) {
      if (isParam(v))
        continue;
      Operation *def = v.getDefiningOp();
      bool outside = def ? segOf.lookup(def) < s : true;
      if (def && llvm::isa<ConstantOp>(def))
        outside = false;
      if (outside && seenInput.insert(v).second)
        seg.checkpoint += scaledBytes(v.getType(), bf16);
    }
    for (Value r : op->getResults())
      if (llvm::any_of(r.getUsers(), [&](Operation *u) { return segOf.lookup(u) > s; }))
        seg.out += scaledBytes(r.getType(), bf16);
    // Later segments that read the same value count it again (their own input).
    if (s > 0)
      ; // seenInput is per value: a value read by two segments is one checkpoint
  }

  // Parameters: those of one segment are its own; tied ones are shared.
  for (unsigned a = 0; a < fn.getNumArguments(); ++a) {
    if (!fn.getArgAttr(a, WeftDialect::kParam))
      continue;
    BlockArgument arg = body.getArgument(a);
    double elements =
        static_cast<double>(llvm::cast<RankedTensorType>(arg.getType()).getNumElements());
    p.paramElements += elements;
    std::set<int> users;
    for (Operation *u : arg.getUsers())
      users.insert(segOf.lookup(u));
    if (users.size() == 1)
      p.segs[*users.begin()].paramElements += elements;
    else if (users.size() > 1)
      p.shared.push_back({elements, std::vector<int>(users.begin(), users.end())});
  }
  // Identical segments (a model's repeated layers) share one cost list.
  llvm::StringMap<int> first;
  for (size_t s = 0; s < p.segs.size(); ++s) {
    auto [it, inserted] = first.try_emplace(signature[s], static_cast<int>(s));
    p.segs[s].canon = it->second;
    if (!inserted)
      p.segs[s].ops.clear(); // the canonical segment's list is used
  }
  p.ok = true;
  return p;
}

// Partitions a clone of the model for `tp` with the real tensor-parallel pass.
static Profile profileFor(ModuleOp module, int64_t tp, bool bf16) {
  if (tp == 1)
    return profileForward(getForward(module), bf16, /*withModelFlops=*/true);
  OwningOpRef<ModuleOp> clone = module.clone();
  MLIRContext *ctx = module.getContext();
  std::string errors;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && errors.empty())
      errors = d.str();
    return success(); // warnings (a vocabulary tp does not divide) are expected
  });
  PassManager pm(ctx);
  WeftPipelineOptions options;
  options.tp = tp;
  addWeftPartitionPipeline(pm, options);
  if (failed(pm.run(*clone))) {
    Profile p;
    p.error = errors.empty() ? "the tensor-parallel split failed" : errors;
    return p;
  }
  return profileForward(getForward(*clone), bf16, false);
}

//===----------------------------------------------------------------------===//
// The search.
//===----------------------------------------------------------------------===//

namespace {
// Per-unit (the stage cutter's unit: a layer, with the prologue and epilogue
// on the first and last) costs at one microbatch size.
struct UnitCosts {
  std::vector<double> fComp, fComm, bComp, bComm, stored, checkpoint, working, params, out;
};

struct Candidate {
  Plan plan;
  int64_t b = 1; // microbatch size
  double preBound = 0;
  double after = 0;     // gradient sync + optimizer of the slowest rank, seconds
  double sendBytes = 0; // the largest activation a stage sends on
  bool evaluated = false;
};

class Planner {
public:
  Planner(ModuleOp module, const PlannerOptions &o) : module(module), o(o) {}
  FailureOr<PlanResult> run();

private:
  ModuleOp module;
  const PlannerOptions &o;
  int64_t batch = 0;
  StateBytes state;
  std::map<int64_t, Profile> profiles;
  std::map<std::tuple<int64_t, int64_t, bool>, UnitCosts> unitCache;
  std::map<std::tuple<int64_t, int64_t, bool, int64_t>, std::vector<int64_t>> cutCache;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int, int64_t, bool>, double> simCache;
  double modelFlopsBlocks = 0, modelFlopsOther = 0;
  int64_t simulations = 0;

  // Why the batch cannot be split at all (a reduction or softmax over it),
  // or "": found by running the real batch split on a clone, once. Every
  // plan with dp x microbatches > 1 needs that split.
  std::optional<std::string> batchBlocker;
  const std::string &batchSplitError() {
    if (!batchBlocker) {
      batchBlocker = "";
      int64_t two = 2;
      while (two <= batch && batch % two != 0)
        ++two;
      if (two <= batch) {
        OwningOpRef<ModuleOp> clone = module.clone();
        std::string errors;
        ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error && errors.empty())
            errors = d.str();
          return success();
        });
        PassManager pm(module.getContext());
        WeftPipelineOptions options;
        options.dp = two;
        addWeftPartitionPipeline(pm, options);
        if (failed(pm.run(*clone)))
          batchBlocker = errors.empty() ? "the batch split failed" : errors;
      }
    }
    return *batchBlocker;
  }

  const Profile &profile(int64_t tp) {
    auto it = profiles.find(tp);
    if (it == profiles.end()) {
      Profile p = profileFor(module, tp, o.bf16);
      if (tp > 1 && o.ilp)
        applyIlp(p, tp);
      it = profiles.emplace(tp, std::move(p)).first;
    }
    return it->second;
  }
  void applyIlp(Profile &p, int64_t tp);

  // One solved layer per (tp, canonical tp = 1 segment): repeated layers are
  // solved once.
  struct IlpEntry {
    bool ok = false, split = false;
    SegmentProblem problem;
    std::vector<int> choice;
    SegmentCosts costs;
  };
  std::map<std::pair<int64_t, int>, IlpEntry> ilpCache;
  std::vector<std::string> ilpNotes;
  double ilpSeconds = 0;
  int64_t ilpSolves = 0;
  const UnitCosts &units(int64_t tp, int64_t b, bool recompute, int64_t dp, int64_t pp);
  const std::vector<int64_t> &cut(int64_t tp, int64_t b, bool recompute, int64_t stages,
                                  const UnitCosts &u);
  bool evaluate(Candidate &c);          // cut, memory, bound; false if it does not fit
  void simulate(Candidate &c);          // the step time
  std::vector<Candidate> enumerate(PlanResult &result, int64_t devices, bool leanOnly);
};
} // namespace

// Where the Megatron patterns leave a layer whole (no tp collective in it),
// or fail for this tp altogether, the per-op sharding ILP picks each op's
// split instead, on the model's global shapes at its full batch; the
// solution becomes the segment's ops and collectives, costed from then on
// like the patterns' (scaled to each plan's microbatch).
void Planner::applyIlp(Profile &p, int64_t tp) {
  const Profile &base = profile(1);
  if (!base.ok)
    return;
  const bool whole = !p.ok;
  // Compiled, the ILP's split replaces the patterns in every layer; where the
  // patterns split some, their split is what gets compiled and costed.
  if (o.compiling && !whole && llvm::any_of(p.segs, [](const Segment &s) {
        return !s.fwdComm.empty() || !s.bwdComm.empty();
      }))
    return;
  if (whole) {
    std::string error = p.error;
    p = base;
    p.error = error;
  }
  IlpCostContext ctx;
  ctx.cluster = &o.cluster;
  ctx.bf16 = o.bf16;
  ctx.tp = tp;
  ctx.optimizerBytesPerElement = 2 * state.weight + state.gradient + 2 * state.optimizer;
  func::FuncOp fn = getForward(module);
  llvm::DenseMap<Operation *, int> segOf;
  for (size_t si = 0; si < base.segOps.size(); ++si)
    for (Operation *op : base.segOps[si])
      segOf[op] = static_cast<int>(si);
  std::map<int, int> replaced; // tp = 1 canonical segment -> first segment replaced
  for (size_t si = 0; si < p.segs.size() && si < base.segs.size(); ++si) {
    Segment &seg = p.segs[si];
    if (!whole && (!seg.fwdComm.empty() || !seg.bwdComm.empty()))
      continue; // a pattern split it
    const int c1 = base.segs[si].canon;
    if (base.segOps[c1].empty())
      continue;
    IlpEntry &e = ilpCache[{tp, c1}];
    if (e.problem.nodes.empty()) {
      auto start = std::chrono::steady_clock::now();
      e.problem = buildSegmentProblem(fn, base.segOps[c1], ctx);
      std::string error;
      FailureOr<IlpSolution> sol = solveIlp(e.problem.ilp, error);
      ilpSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++ilpSolves;
      if (failed(sol)) {
        ilpNotes.push_back("tp=" + std::to_string(tp) + ": segment " + std::to_string(c1) +
                           " stays replicated: " + error);
        continue;
      }
      e.ok = true;
      e.choice = sol->choice;
      e.split = llvm::any_of(e.choice, [](int c) { return c != 0; });
      e.costs = segmentCosts(e.problem, e.choice, ctx);
    }
    if (!e.ok || !e.split)
      continue; // replicated: what the profile already says
    auto [first, isFirst] = replaced.try_emplace(c1, static_cast<int>(si));
    seg.canon = first->second;
    seg.ops.clear();
    if (isFirst)
      for (const SegmentCosts::Op &op : e.costs.ops)
        seg.ops.push_back({op.matmul, op.flops, op.act, op.param});
    seg.fwdComm.clear();
    seg.bwdComm.clear();
    for (const SegmentCosts::Comm &cm : e.costs.comms)
      (cm.backward ? seg.bwdComm : seg.fwdComm).push_back({cm.gather, cm.bytes});
    seg.stored = e.costs.stored;
    // Its own parameters (tied ones stay in `shared`), at their local size.
    seg.paramElements = 0;
    const int nodeCount = static_cast<int>(e.problem.nodes.size());
    for (int v = 0; v < nodeCount; ++v) {
      BlockArgument arg = e.problem.nodes[v].param;
      if (!arg)
        continue;
      std::set<int> users;
      for (Operation *u : arg.getUsers())
        users.insert(segOf.lookup(u));
      if (users.size() != 1)
        continue;
      const TpSpec &spec = e.problem.nodes[v].strategies[e.choice[v]].results[0];
      seg.paramElements +=
          static_cast<double>(llvm::cast<RankedTensorType>(arg.getType()).getNumElements()) /
          (spec.kind == TpSpec::S ? tp : 1);
    }
    ++p.ilpSegments;
    // This segment's ops take the canonical one's choices, in order.
    std::vector<Operation *> mine;
    for (Operation *op : base.segOps[si])
      if (op->getNumResults())
        mine.push_back(op);
    llvm::DenseMap<Value, int> paramNode;
    for (int v = 0; v < nodeCount; ++v)
      if (e.problem.nodes[v].param)
        paramNode[e.problem.nodes[v].param] = v;
    auto annotation = [](const TpSpec &spec) -> std::string {
      return spec.kind == TpSpec::S ? "tp:" + std::to_string(spec.dim) : "replicated";
    };
    size_t k = 0;
    for (int v = 0; v < nodeCount && k < mine.size(); ++v)
      if (Operation *canonical = e.problem.nodes[v].op) {
        Operation *op = mine[k++];
        const TpStrategy &st = e.problem.nodes[v].strategies[e.choice[v]];
        p.ilpChoices.push_back({locationString(op->getLoc()), op->getName().getStringRef().str(),
                                st.label(), static_cast<int64_t>(si),
                                isFirst ? -1 : first->second});
        // The canonical op's parameters are this op's at the same operand;
        // a parameter two segments read keeps the first layout.
        for (unsigned i = 0; i < canonical->getNumOperands() && i < op->getNumOperands(); ++i) {
          auto it = paramNode.find(canonical->getOperand(i));
          auto arg = llvm::dyn_cast<BlockArgument>(op->getOperand(i));
          if (it == paramNode.end() || !arg ||
              llvm::any_of(p.ilpArgs, [&](const IlpArgChoice &a) { return a.arg == arg.getArgNumber(); }))
            continue;
          const TpStrategy &ps = e.problem.nodes[it->second].strategies[e.choice[it->second]];
          p.ilpArgs.push_back({arg.getArgNumber(), annotation(ps.results[0])});
        }
      }
  }
  if (whole && p.ilpSegments == 0)
    p.ok = false; // nothing split: the patterns' error stands
}

const UnitCosts &Planner::units(int64_t tp, int64_t b, bool recompute, int64_t dp, int64_t pp) {
  // The tp group's placement depends on tp only (tp innermost).
  auto key = std::make_tuple(tp, b, recompute);
  auto it = unitCache.find(key);
  if (it != unitCache.end())
    return it->second;
  const Profile &p = profile(tp);
  const ClusterSpec &c = o.cluster;
  GroupPlacement group = tpGroup(c, dp, tp, pp);
  const double s = static_cast<double>(b) / batch;
  UnitCosts u;
  int64_t n = p.units();
  for (auto *v : {&u.fComp, &u.fComm, &u.bComp, &u.bComm, &u.stored, &u.checkpoint, &u.working,
                  &u.params, &u.out})
    v->assign(n, 0);
  std::vector<double> canonTime(p.segs.size(), -1);
  for (size_t si = 0; si < p.segs.size(); ++si) {
    const Segment &seg = p.segs[si];
    double &t = canonTime[seg.canon];
    if (t < 0) {
      t = 0;
      for (const OpCost &op : p.segs[seg.canon].ops)
        t += opTime(c, o.bf16, op.matmul, op.flops * s, op.act * s + op.param);
    }
    double fComm = 0, bComm = 0;
    for (const CommItem &ci : seg.fwdComm)
      fComm += ci.gather ? allGatherTime(c, group, ci.bytes * s) : allReduceTime(c, group, ci.bytes * s);
    for (const CommItem &ci : seg.bwdComm)
      bComm += ci.gather ? allGatherTime(c, group, ci.bytes * s) : allReduceTime(c, group, ci.bytes * s);
    int unit = p.unitOf(static_cast<int>(si));
    u.fComp[unit] += t;
    u.fComm[unit] += fComm;
    // A backward does twice the forward's work (two products per product).
    u.bComp[unit] += 2 * t + (recompute && seg.block ? t : 0);
    u.bComm[unit] += bComm + (recompute && seg.block ? fComm : 0);
    u.stored[unit] += seg.stored * s;
    // Recompute keeps only a layer's input; the prologue and epilogue keep all.
    u.checkpoint[unit] += (seg.block ? seg.checkpoint : seg.stored) * s;
    if (seg.block)
      u.working[unit] = std::max(u.working[unit], seg.stored * s);
    u.params[unit] += seg.paramElements;
    u.out[unit] += seg.out * s;
  }
  return unitCache.emplace(key, std::move(u)).first->second;
}

const std::vector<int64_t> &Planner::cut(int64_t tp, int64_t b, bool recompute, int64_t stages,
                                         const UnitCosts &u) {
  auto key = std::make_tuple(tp, b, recompute, stages);
  auto it = cutCache.find(key);
  if (it != cutCache.end())
    return it->second;
  std::vector<double> cost(u.fComp.size());
  for (size_t i = 0; i < cost.size(); ++i)
    cost[i] = u.fComp[i] + u.fComm[i] + u.bComp[i] + u.bComm[i];
  return cutCache.emplace(key, balanceCuts(cost, stages)).first->second;
}

// Sums the units into stages, checks memory, and bounds the step time.
bool Planner::evaluate(Candidate &cand) {
  Plan &pl = cand.plan;
  const Profile &prof = profile(pl.tp);
  const UnitCosts &u = units(pl.tp, cand.b, pl.recompute, pl.dp, pl.pp);
  const int64_t S = pl.pp * pl.virtualStages, P = pl.pp, M = pl.microbatches;
  const std::vector<int64_t> &starts = cut(pl.tp, cand.b, pl.recompute, S, u);
  pl.stageStarts = starts;
  const int64_t n = prof.units();
  std::vector<double> fComp(S), fComm(S), bComp(S), bComm(S), stored(S), ckpt(S), working(S),
      params(S), send(S);
  std::vector<int> stageOfUnit(n);
  for (int64_t s = 0; s < S; ++s) {
    int64_t end = s + 1 < S ? starts[s + 1] : n;
    for (int64_t i = starts[s]; i < end; ++i) {
      stageOfUnit[i] = s;
      fComp[s] += u.fComp[i];
      fComm[s] += u.fComm[i];
      bComp[s] += u.bComp[i];
      bComm[s] += u.bComm[i];
      stored[s] += u.stored[i];
      ckpt[s] += u.checkpoint[i];
      working[s] = std::max(working[s], u.working[i]);
      params[s] += u.params[i];
    }
    send[s] = end > 0 ? u.out[end - 1] : 0;
  }
  // Tied weights count on every stage that uses them, and their gradients
  // are all-reduced between those stages' ranks.
  std::vector<double> tiedRank(P, 0);
  for (const SharedParam &sp : prof.shared) {
    std::set<int64_t> stagesUsing;
    for (int seg : sp.segments)
      stagesUsing.insert(stageOfUnit[prof.unitOf(seg)]);
    for (int64_t s : stagesUsing)
      params[s] += sp.elements;
    std::set<int64_t> ranks;
    for (int64_t s : stagesUsing)
      ranks.insert(s % P);
    if (ranks.size() > 1)
      for (int64_t r : ranks)
        tiedRank[r] += sp.elements;
  }
  pl.stageForward.assign(S, 0);
  pl.stageBackward.assign(S, 0);
  for (int64_t s = 0; s < S; ++s) {
    pl.stageForward[s] = fComp[s] + fComm[s];
    pl.stageBackward[s] = bComp[s] + bComm[s];
  }

  // Memory and the after-step costs per rank.
  const ClusterSpec &c = o.cluster;
  pl.capacity = c.device.memoryBytes * c.device.usableMemory;
  pl.memoryPerRank.assign(P, 0);
  pl.peakMemory = {};
  GroupPlacement dpg = dpGroup(c, pl.dp, pl.tp, pl.pp);
  const LinkSpec &pp = ppLink(c, pl.dp, pl.tp, pl.pp);
  double after = 0; // the slowest rank's gradient sync + optimizer
  int64_t bottleneck = 0;
  double bottleneckWork = -1;
  for (int64_t r = 0; r < P; ++r) {
    double rParams = 0, rStored = 0, rCkpt = 0, rWorking = 0, work = 0;
    for (int64_t v = 0; v < pl.virtualStages; ++v) {
      int64_t s = v * P + r;
      rParams += params[s];
      rStored = std::max(rStored, stored[s]);
      rCkpt = std::max(rCkpt, ckpt[s]);
      rWorking = std::max(rWorking, working[s]);
      work += pl.stageForward[s] + pl.stageBackward[s];
    }
    int64_t inFlight = inFlightMicrobatches(pl.schedule, P, r, M, pl.virtualStages);
    MemoryBreakdown m = deviceMemory(rParams, state, pl.zero ? pl.dp : 1, rStored, rCkpt,
                                     rWorking, inFlight, pl.recompute);
    pl.memoryPerRank[r] = m.total();
    if (m.total() > pl.peakMemory.total())
      pl.peakMemory = m;
    double sync = allReduceTime(c, dpg, rParams * state.gradient) +
                  (tiedRank[r] > 0 ? ringAllReduceTime(tiedRank[r] * state.gradient, 2, pp) : 0);
    double optBytes = rParams * (2 * state.weight + state.gradient + 2 * state.optimizer) /
                      (pl.zero ? pl.dp : 1);
    double opt = optBytes / (c.device.hbmBandwidth * c.device.memoryEfficiency);
    after = std::max(after, sync + opt);
    if (work > bottleneckWork) {
      bottleneckWork = work;
      bottleneck = r;
      pl.compute = opt;
      pl.communication = sync;
    }
  }
  for (int64_t v = 0; v < pl.virtualStages; ++v) {
    int64_t s = v * P + bottleneck;
    pl.compute += M * (fComp[s] + bComp[s]);
    pl.communication += M * (fComm[s] + bComm[s]);
  }
  pl.fits = pl.peakMemory.total() <= pl.capacity;

  // A bound on the step: stage k cannot start before the first microbatch's
  // forwards reach it, nor end before its backwards leave the stages before.
  double bound = bottleneckWork * M;
  if (pl.virtualStages == 1) {
    double before = 0;
    for (int64_t k = 0; k < S; ++k) {
      double ck = pl.stageForward[k] + pl.stageBackward[k];
      bound = std::max(bound, M * ck + before);
      before += ck;
    }
  }
  pl.lowerBound = bound + after;
  cand.after = after;
  cand.sendBytes = *std::max_element(send.begin(), send.end());
  cand.evaluated = true;
  return pl.fits;
}

void Planner::simulate(Candidate &cand) {
  Plan &pl = cand.plan;
  const int64_t P = pl.pp, M = pl.microbatches, V = pl.virtualStages;
  double makespan = kInf;
  if (P == 1) {
    makespan = M * (pl.stageForward[0] + pl.stageBackward[0]);
  } else {
    auto key = std::make_tuple(pl.tp, P, pl.dp, M, static_cast<int>(pl.schedule), V, pl.recompute);
    auto it = simCache.find(key);
    if (it != simCache.end()) {
      makespan = it->second;
    } else {
      pl::ScheduleOptions so;
      so.kind = pl.schedule == ScheduleChoice::kGPipe        ? pl::ScheduleKind::kGPipe
                : pl.schedule == ScheduleChoice::kInterleaved ? pl::ScheduleKind::kInterleaved
                                                              : pl::ScheduleKind::k1F1B;
      so.stages = static_cast<int>(P);
      so.microbatches = static_cast<int>(M);
      so.virtual_stages = static_cast<int>(V);
      pl::Costs costs;
      // Microseconds keep the simulator's sums in a sane range.
      double fSum = 0, bSum = 0;
      for (size_t s = 0; s < pl.stageForward.size(); ++s) {
        costs.stage_forward.push_back(std::max(pl.stageForward[s] * 1e6, 1e-9));
        costs.stage_backward.push_back(std::max(pl.stageBackward[s] * 1e6, 2e-9));
        fSum += costs.stage_forward.back();
        bSum += costs.stage_backward.back();
      }
      so.forward_cost = fSum / pl.stageForward.size();
      so.backward_cost = bSum / pl.stageForward.size();
      costs.comm = p2pTime(cand.sendBytes, ppLink(o.cluster, pl.dp, pl.tp, P)) * 1e6;
      auto schedule = pl::BuildSchedule(so);
      if (schedule.ok()) {
        auto sim = pl::Simulate(*schedule, costs, pl::SendMode::kBuffered);
        if (sim.ok())
          makespan = sim->makespan * 1e-6;
      }
      ++simulations;
      simCache.emplace(key, makespan);
    }
  }
  pl.stepTime = makespan + cand.after;
  pl.bubble = pl.stepTime - pl.compute - pl.communication;
  if (pl.bubble < 1e-9 * pl.stepTime)
    pl.bubble = 0; // rounding, not idle time

  pl.simulated = std::isfinite(makespan);
  pl.modelFlops = 3 * (modelFlopsBlocks + modelFlopsOther) + (pl.recompute ? modelFlopsBlocks : 0);
  pl.tflopsPerDevice = pl.modelFlops / (pl.stepTime * pl.dp * pl.tp * pl.pp) / 1e12;
}

static int scheduleRank(ScheduleChoice s) {
  switch (s) {
  case ScheduleChoice::kNone:
  case ScheduleChoice::k1F1B:
    return 0;
  case ScheduleChoice::kInterleaved:
    return 1;
  case ScheduleChoice::kGPipe:
    return 2; // the same time as 1F1B with more memory: last on ties
  }
  return 3;
}

static auto planKey(const Plan &p) {
  return std::make_tuple(p.dp, p.tp, p.pp, p.microbatches, scheduleRank(p.schedule),
                         p.virtualStages, p.recompute, p.zero);
}

static std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i * i <= n; ++i)
    if (n % i == 0) {
      d.push_back(i);
      if (i != n / i)
        d.push_back(n / i);
    }
  std::sort(d.begin(), d.end());
  return d;
}

std::vector<Candidate> Planner::enumerate(PlanResult &result, int64_t devices, bool leanOnly) {
  std::vector<Candidate> out;
  const int64_t perNode = o.cluster.devicesPerNode;
  auto note = [&](const std::string &s) {
    if (!leanOnly && std::find(result.notes.begin(), result.notes.end(), s) == result.notes.end())
      result.notes.push_back(s);
  };
  for (int64_t tp : divisors(devices)) {
    // Megatron's rule: a tp group stays in a node (its all-reduces run every layer).
    if (tp > perNode || (!leanOnly && o.fixTp && tp != o.fixTp))
      continue;
    const Profile &prof = profile(tp);
    if (!prof.ok) {
      note("tp=" + std::to_string(tp) + ": " + prof.error);
      continue;
    }
    for (int64_t pp : divisors(devices / tp)) {
      if (!leanOnly && o.fixPp && pp != o.fixPp)
        continue;
      if (pp > prof.units()) {
        if (pp > 1 && pp <= devices / tp)
          note("pp=" + std::to_string(pp) + ": more stages than the model's " +
               std::to_string(prof.blocks) + " layers (weft.block)");
        continue;
      }
      const int64_t dp = devices / (tp * pp);
      if (!leanOnly && o.fixDp && dp != o.fixDp)
        continue;
      if (batch % dp != 0) {
        note("dp=" + std::to_string(dp) + ": does not divide the batch (" +
             std::to_string(batch) + ")");
        continue;
      }
      // With pp = 1, M > 1 is gradient accumulation: slower (smaller
      // kernels, weights read M times) but it can make a mesh fit.
      std::vector<int64_t> ms = divisors(batch / dp);
      if (leanOnly)
        ms = {batch / dp};
      for (int64_t m : ms) {
        if (!leanOnly && o.fixMicrobatches && m != o.fixMicrobatches)
          continue;
        if (dp * m > 1 && !batchSplitError().empty()) {
          note("dp > 1 or microbatches > 1: " + batchSplitError());
          continue;
        }
        std::vector<std::pair<ScheduleChoice, int64_t>> schedules;
        if (pp == 1) {
          schedules = {{ScheduleChoice::kNone, 1}};
        } else {
          schedules = {{ScheduleChoice::k1F1B, 1}};
          if (!leanOnly) {
            schedules.push_back({ScheduleChoice::kGPipe, 1});
            if (m % pp == 0 && 2 * pp <= prof.units())
              schedules.push_back({ScheduleChoice::kInterleaved, 2});
          }
        }
        for (auto [sched, v] : schedules) {
          if (!leanOnly && !o.fixSchedule.empty() && o.fixSchedule != scheduleChoiceName(sched))
            continue;
          for (int rc = 0; rc < 2; ++rc) {
            if (leanOnly ? rc == 0 : (o.fixRecompute >= 0 && rc != o.fixRecompute))
              continue;
            for (int z = 0; z < (dp > 1 ? 2 : 1); ++z) {
              if (leanOnly ? (dp > 1 && z == 0) : (o.fixZero >= 0 && z != o.fixZero))
                continue;
              Candidate c;
              c.plan.dp = dp;
              c.plan.tp = tp;
              c.plan.pp = pp;
              c.plan.microbatches = m;
              c.plan.schedule = sched;
              c.plan.virtualStages = v;
              c.plan.recompute = rc;
              c.plan.zero = z;
              c.plan.ilpSegments = prof.ilpSegments;
              // The annotated path compiles neither pipelines, accumulation
              // nor ZeRO-1: such a candidate is not compilable with the ILP.
              if (o.compiling && !leanOnly && prof.ilpSegments && (pp > 1 || m > 1 || z)) {
                note("tp=" + std::to_string(tp) +
                     ": its split is the sharding ILP's, compiled as weft.sharding annotations, "
                     "which take no pp > 1, gradient accumulation or ZeRO-1: such plans are "
                     "left out");
                continue;
              }
              c.b = batch / (dp * m);
              // An optimistic step: every stage equal, no bubble beyond one
              // microbatch's pass, nothing after the step.
              const UnitCosts &u = units(tp, c.b, rc, dp, pp);
              double total = 0;
              for (size_t i = 0; i < u.fComp.size(); ++i)
                total += u.fComp[i] + u.fComm[i] + u.bComp[i] + u.bComm[i];
              c.preBound = std::max(m * total / pp, total);
              out.push_back(std::move(c));
            }
          }
        }
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Candidate &a, const Candidate &b) {
    return std::make_pair(a.preBound, planKey(a.plan)) < std::make_pair(b.preBound, planKey(b.plan));
  });
  return out;
}

static bool faster(const Plan &a, const Plan &b) {
  return std::make_pair(a.stepTime, planKey(a)) < std::make_pair(b.stepTime, planKey(b));
}

static std::string seconds(double s) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (s >= 1)
    os << llvm::format("%.3f s", s);
  else if (s >= 1e-3)
    os << llvm::format("%.2f ms", s * 1e3);
  else
    os << llvm::format("%.1f us", s * 1e6);
  return out;
}

static std::string gib(double bytes) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (bytes >= GiB)
    os << llvm::format("%.2f GiB", bytes / GiB);
  else if (bytes >= 1024 * 1024)
    os << llvm::format("%.2f MiB", bytes / (1024 * 1024));
  else
    os << llvm::format("%.1f KiB", bytes / 1024);
  return out;
}

// Why `loser` (the best plan of its mesh) is slower than `winner`.
static std::string whyLost(const Plan &loser, const Plan &winner) {
  double dCompute = loser.compute - winner.compute;
  double dComm = loser.communication - winner.communication;
  double dBubble = loser.bubble - winner.bubble;
  std::string pct;
  llvm::raw_string_ostream(pct) << llvm::format("%.1f%% slower",
                                                (loser.stepTime / winner.stepTime - 1) * 100);
  if (dComm >= dCompute && dComm >= dBubble)
    return pct + ", communication-bound (+" + seconds(dComm) + " of communication)";
  if (dBubble >= dCompute)
    return pct + ", pipeline bubble (+" + seconds(dBubble) + " idle)";
  return pct + ", more compute per device (+" + seconds(dCompute) +
         ": replicated ops, smaller kernels or recompute)";
}

FailureOr<PlanResult> Planner::run() {
  auto start = std::chrono::steady_clock::now();
  func::FuncOp forward = getForward(module);
  PlanResult result;
  for (unsigned i = 0; i < forward.getNumArguments() && !batch; ++i)
    if (forward.getArgAttr(i, WeftDialect::kInput)) {
      auto t = llvm::cast<RankedTensorType>(forward.getArgumentTypes()[i]);
      if (t.getRank() > 0)
        batch = t.getDimSize(0);
    }
  if (!batch)
    return forward.emitError() << "--plan=auto splits the batch: the model needs a weft.input "
                                  "with a batch dimension (dimension 0)";
  if (o.devices < 1)
    return forward.emitError() << "--devices must be at least 1, got " << o.devices;
  if (o.cluster.maxDevices() && o.devices > o.cluster.maxDevices())
    return forward.emitError() << "--devices=" << o.devices << " but cluster " << o.cluster.name
                               << " has " << o.cluster.maxDevices()
                               << " devices; pick a bigger one (e.g. --cluster="
                               << (o.cluster.device.peakBf16 > 0 && o.cluster.name[0] == 'a'
                                       ? "a100-80g-8x-ib200-"
                                       : "h100-sxm-8x-ib400-")
                               << (o.devices + o.cluster.devicesPerNode - 1) /
                                      o.cluster.devicesPerNode
                               << "nodes) or a JSON file";
  state = stateBytes(o.bf16, o.train == "adamw");
  const Profile &base = profile(1);
  for (const Segment &s : base.segs)
    (s.block ? modelFlopsBlocks : modelFlopsOther) += s.modelFlops;
  result.batch = batch;
  result.layers = base.blocks;
  result.paramCount = base.paramElements;

  std::vector<Candidate> cands = enumerate(result, o.devices, false);
  if (cands.empty()) {
    auto diag = forward.emitError() << "--plan=auto: no mesh of " << o.devices
                                    << " devices applies to this model";
    for (const std::string &n : result.notes)
      diag.attachNote() << n;
    return failure();
  }
  result.evaluated = cands.size();
  std::vector<Plan> top;
  const size_t K = std::max<int64_t>(o.topK, 1);
  for (Candidate &c : cands) {
    double threshold = top.size() < K ? kInf : top.back().stepTime;
    if (c.preBound > threshold)
      break; // sorted: no later candidate can do better
    if (!evaluate(c) || c.plan.lowerBound > threshold)
      continue;
    simulate(c);
    if (!c.plan.simulated)
      continue;
    top.insert(std::upper_bound(top.begin(), top.end(), c.plan, faster), c.plan);
    if (top.size() > K)
      top.pop_back();
  }
  result.top = top;

  if (o.perMesh || top.empty()) {
    // Each mesh's best plan (or, when none fits, its leanest), and why it lost.
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::vector<Candidate *>> byMesh;
    for (Candidate &c : cands)
      byMesh[{c.plan.pp, c.plan.tp, c.plan.dp}].push_back(&c);
    for (auto &[mesh, list] : byMesh) {
      MeshVerdict v;
      std::tie(v.pp, v.tp, v.dp) = mesh;
      for (Candidate *c : list) {
        if (v.best && c->preBound > v.best->stepTime)
          break;
        bool fits = c->evaluated ? c->plan.fits : evaluate(*c);
        if (!fits) {
          if (!v.leanest || c->plan.peakMemory.total() < v.leanest->peakMemory.total())
            v.leanest = c->plan;
          continue;
        }
        if (v.best && c->plan.lowerBound > v.best->stepTime)
          continue;
        if (!c->plan.simulated)
          simulate(*c);
        if (c->plan.simulated && (!v.best || faster(c->plan, *v.best)))
          v.best = c->plan;
      }
      if (v.best) {
        v.leanest.reset();
        if (!top.empty() && v.best->mesh() != top[0].mesh())
          v.reason = whyLost(*v.best, top[0]);
      } else if (v.leanest) {
        v.reason = "out of memory: needs at least " + gib(v.leanest->peakMemory.total()) +
                   " per device (" + v.leanest->summary() + ") of " +
                   gib(v.leanest->capacity);
      }
      result.meshes.push_back(std::move(v));
    }
    std::sort(result.meshes.begin(), result.meshes.end(),
              [](const MeshVerdict &a, const MeshVerdict &b) {
                double ta = a.best ? a.best->stepTime : kInf, tb = b.best ? b.best->stepTime : kInf;
                return std::make_tuple(ta, a.dp, a.tp, a.pp) < std::make_tuple(tb, b.dp, b.tp, b.pp);
              });
  }
  if (top.empty()) {
    // Nothing fits: the fewest devices whose leanest plan would.
    const int64_t limit = std::min<int64_t>(o.devices * 64, 1 << 20);
    for (int64_t n = o.devices + 1; n <= limit && !result.smallestFitting; ++n)
      for (Candidate &c : enumerate(result, n, true))
        if (evaluate(c)) {
          result.smallestFitting = n;
          break;
        }
  }
  if (!top.empty())
  {
    result.ilpChoices = profile(top[0].tp).ilpChoices;
    result.ilpArgs = profile(top[0].tp).ilpArgs;
  }
  for (const std::string &n : ilpNotes)
    result.notes.push_back(n);
  result.ilpSeconds = ilpSeconds;
  result.ilpSolves = ilpSolves;
  result.simulated = simulations;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

FailureOr<PlanResult> mlir::weft::planPlacement(ModuleOp module, const PlannerOptions &options) {
  Planner planner(module, options);
  return planner.run();
}

//===----------------------------------------------------------------------===//
// Output.
//===----------------------------------------------------------------------===//

static void printOne(const Plan &p, const char *indent, llvm::raw_ostream &os) {
  os << indent << "mesh " << p.mesh();
  if (p.pp > 1) {
    os << ", " << p.microbatches << " microbatches, schedule " << scheduleChoiceName(p.schedule);
    if (p.virtualStages > 1)
      os << " (" << p.virtualStages << " virtual stages)";
  } else if (p.microbatches > 1) {
    os << ", gradients accumulated over " << p.microbatches << " microbatches";
  }
  os << ", recompute " << (p.recompute ? "on" : "off") << ", ZeRO-1 " << (p.zero ? "on" : "off")
     << "\n";
  os << indent << "  step " << seconds(p.stepTime) << ": compute " << seconds(p.compute)
     << ", communication " << seconds(p.communication) << ", bubble " << seconds(p.bubble)
     << llvm::format("; %.4g TFLOP/s per device\n", p.tflopsPerDevice);
  if (p.ilpSegments)
    os << indent << "  " << p.ilpSegments
       << (p.ilpSegments == 1 ? " segment" : " segments")
       << " split by the sharding ILP (the Megatron patterns do not match there)\n";
  const MemoryBreakdown &m = p.peakMemory;
  os << indent << "  peak memory per device " << gib(m.total()) << " of " << gib(p.capacity)
     << ": parameters " << gib(m.params) << ", gradients " << gib(m.gradients) << ", optimizer "
     << gib(m.optimizer) << ", activations " << gib(m.activations) << "\n";
}

void mlir::weft::printPlan(const PlanResult &r, const PlannerOptions &o, bool explain,
                           llvm::raw_ostream &os) {
  os << "cluster " << describeCluster(o.cluster) << "\n";
  os << "model: " << llvm::format("%.4g", r.paramCount) << " parameters, " << r.layers
     << " layers, batch " << r.batch << "; " << (o.bf16 ? "bf16 mixed precision" : "f32") << ", "
     << o.train << "\n";
  if (r.top.empty()) {
    os << "no plan fits in memory on " << o.devices << " devices";
    if (r.smallestFitting)
      os << "; the smallest device count that fits is " << r.smallestFitting;
    os << "\n";
  } else {
    const Plan &p = r.top[0];
    os << "plan for " << o.devices << " devices:\n";
    printOne(p, "  ", os);
    if (p.pp > 1) {
      os << "  stages (first layer of each):";
      for (int64_t s : p.stageStarts)
        os << " " << s;
      os << "\n";
    }
  }
  os << "searched " << r.evaluated << " plans, simulated " << r.simulated << " pipelines, in "
     << seconds(r.seconds);
  if (r.ilpSolves)
    os << " (sharding ILP: " << r.ilpSolves << " layers solved by CBC in " << seconds(r.ilpSeconds)
       << ")";
  os << "\n";
  if (!explain)
    return;
  os << "\ntop " << r.top.size() << " plans:\n";
  for (size_t i = 0; i < r.top.size(); ++i) {
    os << "  " << i + 1 << ".";
    printOne(r.top[i], " ", os);
  }
  if (!r.meshes.empty()) {
    os << "\nwhy the other meshes lost (each with its best plan):\n";
    for (const MeshVerdict &v : r.meshes) {
      Plan m;
      m.dp = v.dp, m.tp = v.tp, m.pp = v.pp;
      if (v.reason.empty())
        continue;
      os << "  " << m.mesh() << ": " << v.reason;
      if (v.best)
        os << " [" << v.best->summary() << ", " << seconds(v.best->stepTime) << "]";
      os << "\n";
    }
  }
  for (const std::string &n : r.notes)
    os << "  not possible: " << n << "\n";
  if (!r.ilpChoices.empty()) {
    os << "\nops split by the sharding ILP (CBC) for tp=" << r.top[0].tp
       << ", where the Megatron patterns do not match (once per repeated layer;"
          " operands -> results, R replicated, S<d> split along d, P partial):\n";
    for (const IlpOpChoice &c : r.ilpChoices)
      if (c.sameAs < 0)
        os << "  segment " << c.segment << "  " << c.loc << "  " << c.op << "  " << c.strategy
         << "\n";
  }
}

// Byte counts are whole bytes in JSON (the model computes them in doubles).
static int64_t bytes(double b) { return static_cast<int64_t>(std::llround(b)); }

static llvm::json::Value planJson(const Plan &p) {
  llvm::json::Array stages;
  for (int64_t s : p.stageStarts)
    stages.push_back(s);
  llvm::json::Array perRank;
  for (double m : p.memoryPerRank)
    perRank.push_back(bytes(m));
  return llvm::json::Object{
      {"mesh", p.mesh()},
      {"dp", p.dp},
      {"tp", p.tp},
      {"pp", p.pp},
      {"microbatches", p.microbatches},
      {"schedule", scheduleChoiceName(p.schedule)},
      {"virtual_stages", p.virtualStages},
      {"recompute", p.recompute},
      {"zero", static_cast<int64_t>(p.zero)}, // the ZeRO stage (0 or 1), a number by design
      {"step_time_s", p.stepTime},
      {"compute_s", p.compute},
      {"communication_s", p.communication},
      {"bubble_s", p.bubble},
      {"tflops_per_device", p.tflopsPerDevice},
      {"model_flops_per_step", p.modelFlops},
      {"peak_memory_bytes", bytes(p.peakMemory.total())},
      {"memory_bytes_per_pipeline_rank", std::move(perRank)},
      {"memory",
       llvm::json::Object{{"parameters", bytes(p.peakMemory.params)},
                          {"gradients", bytes(p.peakMemory.gradients)},
                          {"optimizer", bytes(p.peakMemory.optimizer)},
                          {"activations", bytes(p.peakMemory.activations)},
                          {"capacity", bytes(p.capacity)}}},
      {"stage_first_layers", std::move(stages)},
      {"ilp_segments", p.ilpSegments},
  };
}

llvm::json::Value mlir::weft::planToJson(const PlanResult &r, const PlannerOptions &o) {
  llvm::json::Object root;
  root["cluster"] = o.cluster.name;
  root["devices"] = o.devices;
  root["precision"] = o.bf16 ? "bf16" : "f32";
  root["planning_time_s"] = r.seconds;
  root["plans_searched"] = r.evaluated;
  root["pipelines_simulated"] = r.simulated;
  if (!r.top.empty()) {
    llvm::json::Object chosen = std::move(*planJson(r.top[0]).getAsObject());
    for (auto &kv : chosen)
      root[kv.first] = kv.second;
  } else {
    root["fits"] = false;
    root["smallest_fitting_devices"] = r.smallestFitting;
  }
  llvm::json::Array top;
  for (const Plan &p : r.top)
    top.push_back(planJson(p));
  root["top"] = std::move(top);
  llvm::json::Array meshes;
  for (const MeshVerdict &v : r.meshes) {
    llvm::json::Object m{{"dp", v.dp}, {"tp", v.tp}, {"pp", v.pp}, {"reason", v.reason}};
    if (v.best)
      m["best"] = planJson(*v.best);
    if (v.leanest)
      m["leanest"] = planJson(*v.leanest);
    meshes.push_back(std::move(m));
  }
  root["meshes"] = std::move(meshes);
  llvm::json::Array notes;
  for (const std::string &n : r.notes)
    notes.push_back(n);
  root["not_possible"] = std::move(notes);
  llvm::json::Array ilp;
  for (const IlpOpChoice &c : r.ilpChoices)
    ilp.push_back(llvm::json::Object{
        {"segment", c.segment}, {"loc", c.loc}, {"op", c.op}, {"strategy", c.strategy},
        {"same_as_segment", c.sameAs}});
  root["ilp_shardings"] = std::move(ilp);
  root["ilp_solves"] = r.ilpSolves;
  return root;
}

void mlir::weft::annotateIlpChoice(ModuleOp module, const PlanResult &result, int64_t dp) {
  func::FuncOp fn = getForward(module);
  Builder b(module.getContext());
  for (const IlpArgChoice &a : result.ilpArgs)
    fn.setArgAttr(a.arg, "weft.sharding", b.getStringAttr(a.annotation));
  // The ILP takes inputs replicated over tp and slices them where an op
  // wants them split; said explicitly, or the propagation would split the
  // input itself over tp, which the runtime cannot feed.
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (fn.getArgAttr(i, WeftDialect::kInput) &&
        llvm::cast<RankedTensorType>(fn.getArgument(i).getType()).getRank() > 0)
      fn.setArgAttr(i, "weft.sharding", b.getStringAttr(dp > 1 ? "dp:0" : "replicated"));
}

//===- ShardingIlp.cpp ---------------------------------------------------===//
#include "compiler/planner/ShardingIlp.h"
#include "compiler/cost/CostModel.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "llvm/ADT/DenseMap.h"

#include <Cbc_C_Interface.h> // CBC (coinor-libcbc-dev), through pkg-config

#include <cmath>
#include <functional>
#include <limits>
#include <memory>

using namespace mlir;
using namespace mlir::weft;

//===----------------------------------------------------------------------===//
// The abstract ILP.
//===----------------------------------------------------------------------===//

double mlir::weft::ilpCost(const IlpProblem &p, const std::vector<int> &choice) {
  double cost = 0;
  for (size_t v = 0; v < p.nodes.size(); ++v)
    cost += p.nodes[v].cost[choice[v]];
  for (const IlpProblem::Edge &e : p.edges)
    cost += e.cost[choice[e.src]][choice[e.dst]];
  for (const IlpProblem::Once &o : p.once)
    for (const IlpProblem::Trigger &t : o.triggers) {
      const IlpProblem::Edge &e = p.edges[t.edge];
      if (choice[e.src] == t.src && choice[e.dst] == t.dst) {
        cost += o.cost;
        break;
      }
    }
  return cost;
}

IlpSolution mlir::weft::bruteForceIlp(const IlpProblem &p) {
  IlpSolution best;
  best.cost = std::numeric_limits<double>::infinity();
  std::vector<int> choice(p.nodes.size(), 0);
  std::function<void(size_t)> go = [&](size_t v) {
    if (v == p.nodes.size()) {
      double c = ilpCost(p, choice);
      if (c < best.cost) {
        best.cost = c;
        best.choice = choice;
      }
      return;
    }
    for (size_t i = 0; i < p.nodes[v].cost.size(); ++i) {
      choice[v] = static_cast<int>(i);
      go(v + 1);
    }
  };
  go(0);
  return best;
}

FailureOr<IlpSolution> mlir::weft::solveIlp(const IlpProblem &p, std::string &error) {
  std::unique_ptr<Cbc_Model, void (*)(Cbc_Model *)> model(Cbc_newModel(), Cbc_deleteModel);
  Cbc_Model *m = model.get();
  Cbc_setLogLevel(m, 0);
  // Costs are seconds; CBC's tolerances are absolute, so solve in
  // microseconds.
  const double scale = 1e6;
  int cols = 0;
  std::vector<int> sBase(p.nodes.size());
  for (size_t v = 0; v < p.nodes.size(); ++v) {
    sBase[v] = cols;
    for (double c : p.nodes[v].cost) {
      Cbc_addCol(m, "", 0, 1, c * scale, 1, 0, nullptr, nullptr);
      ++cols;
    }
  }
  std::vector<int> eBase(p.edges.size());
  for (size_t k = 0; k < p.edges.size(); ++k) {
    eBase[k] = cols;
    for (const std::vector<double> &row : p.edges[k].cost)
      for (double c : row) {
        Cbc_addCol(m, "", 0, 1, c * scale, 0, 0, nullptr, nullptr);
        ++cols;
      }
  }
  std::vector<int> gCol(p.once.size());
  for (size_t k = 0; k < p.once.size(); ++k) {
    gCol[k] = cols++;
    Cbc_addCol(m, "", 0, 1, p.once[k].cost * scale, 0, 0, nullptr, nullptr);
  }
  // One strategy per node.
  for (size_t v = 0; v < p.nodes.size(); ++v) {
    std::vector<int> idx;
    std::vector<double> one;
    for (size_t i = 0; i < p.nodes[v].cost.size(); ++i) {
      idx.push_back(sBase[v] + static_cast<int>(i));
      one.push_back(1);
    }
    Cbc_addRow(m, "", static_cast<int>(idx.size()), idx.data(), one.data(), 'E', 1);
  }
  // Each edge's pair agrees with both ends.
  for (size_t k = 0; k < p.edges.size(); ++k) {
    const IlpProblem::Edge &e = p.edges[k];
    const int ns = static_cast<int>(p.nodes[e.src].cost.size());
    const int nd = static_cast<int>(p.nodes[e.dst].cost.size());
    // sum over the other end's strategies of e[i][j] = s[end][fixed].
    auto agree = [&](int sCol, int others, auto &&eCol) {
      std::vector<int> idx{sCol};
      std::vector<double> coef{-1};
      for (int o = 0; o < others; ++o) {
        idx.push_back(eCol(o));
        coef.push_back(1);
      }
      Cbc_addRow(m, "", static_cast<int>(idx.size()), idx.data(), coef.data(), 'E', 0);
    };
    for (int i = 0; i < ns; ++i)
      agree(sBase[e.src] + i, nd, [&](int j) { return eBase[k] + i * nd + j; });
    for (int j = 0; j < nd; ++j)
      agree(sBase[e.dst] + j, ns, [&](int i) { return eBase[k] + i * nd + j; });
  }
  // A once-paid cost is at least each of its trigger pairs.
  for (size_t k = 0; k < p.once.size(); ++k)
    for (const IlpProblem::Trigger &t : p.once[k].triggers) {
      const int nd = static_cast<int>(p.nodes[p.edges[t.edge].dst].cost.size());
      int idx[2] = {gCol[k], eBase[t.edge] + t.src * nd + t.dst};
      double coef[2] = {1, -1};
      Cbc_addRow(m, "", 2, idx, coef, 'G', 0);
    }
  Cbc_setAllowableGap(m, 1e-9);
  Cbc_setAllowableFractionGap(m, 0);
  Cbc_solve(m);
  if (!Cbc_isProvenOptimal(m)) {
    error = "CBC found no optimal sharding (status " + std::to_string(Cbc_status(m)) +
            ", secondary " + std::to_string(Cbc_secondaryStatus(m)) + ")";
    return failure();
  }
  const double *x = Cbc_getColSolution(m);
  IlpSolution sol;
  sol.choice.resize(p.nodes.size());
  for (size_t v = 0; v < p.nodes.size(); ++v) {
    int best = 0;
    for (size_t i = 1; i < p.nodes[v].cost.size(); ++i)
      if (x[sBase[v] + i] > x[sBase[v] + best])
        best = static_cast<int>(i);
    sol.choice[v] = best;
  }
  sol.cost = ilpCost(p, sol.choice);
  return sol;
}

//===----------------------------------------------------------------------===//
// Strategies from the ops' ShardingInterface.
//===----------------------------------------------------------------------===//

std::string TpSpec::str() const {
  switch (kind) {
  case R:
    return "R";
  case S:
    return "S" + std::to_string(dim);
  case P:
    return "P";
  }
  return "?";
}

std::string TpStrategy::label() const {
  std::string s;
  for (size_t i = 0; i < operands.size(); ++i)
    s += (i ? " x " : "") + operands[i].str();
  s += s.empty() ? "-> " : " -> ";
  for (size_t i = 0; i < results.size(); ++i)
    s += (i ? ", " : "") + results[i].str();
  return s;
}

static double typeBytes(Type t, bool bf16) {
  auto rt = llvm::dyn_cast<RankedTensorType>(t);
  if (!rt)
    return 0;
  Type e = rt.getElementType();
  double per = e.isF32() && bf16 ? 2.0 : static_cast<double>(elementBytes(e));
  return static_cast<double>(rt.getNumElements()) * per;
}

static bool isParam(func::FuncOp fn, Value v) {
  auto arg = llvm::dyn_cast<BlockArgument>(v);
  return arg && arg.getOwner() == &fn.getBody().front() &&
         fn.getArgAttr(arg.getArgNumber(), WeftDialect::kParam);
}

// Whether a value carries a gradient: floats made from parameters; not the
// inputs, not constants, not integer ids.
static bool hasGrad(func::FuncOp fn, Value v) {
  auto rt = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!rt || !llvm::isa<FloatType>(rt.getElementType()))
    return false;
  if (llvm::isa<BlockArgument>(v))
    return isParam(fn, v);
  return !llvm::isa<ConstantOp>(v.getDefiningOp());
}

// The dimension of tensor `map` that loop `loop` indexes (-1: none).
static int64_t dimOf(AffineMap map, int64_t loop) {
  for (auto [d, e] : llvm::enumerate(map.getResults()))
    if (auto de = llvm::dyn_cast<AffineDimExpr>(e); de && de.getPosition() == loop)
      return static_cast<int64_t>(d);
  return -1;
}

// Whether the op lets loop `loop` be split: asks its getShardingOption with
// one tensor split along that loop's dimension (the models drop splits of
// unshardable loops: a softmax axis, a reshape's merged dimensions).
static bool loopShardable(shard::ShardingInterface iface, Operation *op,
                          ArrayRef<AffineMap> maps, int64_t loop) {
  MLIRContext *ctx = op->getContext();
  auto grid = FlatSymbolRefAttr::get(ctx, "ilp_probe");
  const size_t nOperands = op->getNumOperands();
  for (size_t t = 0; t < maps.size(); ++t) {
    int64_t d = dimOf(maps[t], loop);
    if (d < 0)
      continue;
    SmallVector<shard::GridAxesAttr> split(d, shard::GridAxesAttr::get(ctx, {}));
    split.push_back(shard::GridAxesAttr::get(ctx, {0}));
    std::vector<shard::Sharding> operands(nOperands), results(op->getNumResults());
    (t < nOperands ? operands[t] : results[t - nOperands]) = shard::Sharding::get(grid, split);
    FailureOr<shard::ShardingOption> option = iface.getShardingOption(operands, results);
    if (failed(option) || option->empty)
      return false;
    return static_cast<int64_t>(option->shardingArray.size()) > loop &&
           !option->shardingArray[loop].empty();
  }
  return false;
}

static std::vector<TpStrategy> opStrategies(func::FuncOp fn, Operation *op, int64_t tp, bool bf16) {
  double flops = 0;
  if (auto cost = llvm::dyn_cast<CostOpInterface>(op))
    flops = static_cast<double>(cost.getFlops());
  const bool matmul = llvm::isa<MatmulOp, AttentionOp>(op);
  // What the op reads and writes on one device (a partial result is whole).
  auto bytesOf = [&](TpStrategy &s) {
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      double b = typeBytes(v.getType(), bf16) / (s.operands[i].kind == TpSpec::S ? tp : 1);
      (isParam(fn, v) ? s.paramBytes : s.actBytes) += b;
    }
    for (auto [i, r] : llvm::enumerate(op->getResults()))
      s.actBytes += typeBytes(r.getType(), bf16) / (s.results[i].kind == TpSpec::S ? tp : 1);
  };
  std::vector<TpStrategy> out;
  TpStrategy rep;
  rep.operands.assign(op->getNumOperands(), {});
  rep.results.assign(op->getNumResults(), {});
  rep.partialGrad.assign(op->getNumOperands(), false);
  rep.flops = flops;
  rep.matmul = matmul;
  bytesOf(rep);
  out.push_back(rep);

  auto iface = llvm::dyn_cast<shard::ShardingInterface>(op);
  if (!iface)
    return out;
  SmallVector<utils::IteratorType> loops = iface.getLoopIteratorTypes();
  SmallVector<shard::ReductionKind> kinds = iface.getReductionLoopIteratorKinds();
  SmallVector<AffineMap> maps = iface.getIndexingMaps();
  if (maps.size() != op->getNumOperands() + op->getNumResults())
    return out;
  int64_t reductionIndex = 0;
  for (auto [loop, type] : llvm::enumerate(loops)) {
    const bool reduction = type == utils::IteratorType::reduction;
    shard::ReductionKind kind = reduction ? kinds[reductionIndex++] : shard::ReductionKind::Sum;
    if (reduction && kind == shard::ReductionKind::Generic)
      continue; // no all-reduce combines its shards
    // The loop's extent, from any tensor that indexes it; tp must divide it.
    int64_t extent = -1;
    for (auto [t, map] : llvm::enumerate(maps)) {
      int64_t d = dimOf(map, loop);
      if (d < 0)
        continue;
      Type ty = t < op->getNumOperands() ? op->getOperand(t).getType()
                                         : op->getResult(t - op->getNumOperands()).getType();
      extent = llvm::cast<RankedTensorType>(ty).getDimSize(d);
      break;
    }
    if (extent < 0 || extent % tp != 0 || !loopShardable(iface, op, maps, loop))
      continue;
    TpStrategy s;
    s.loop = static_cast<int64_t>(loop);
    s.matmul = matmul;
    s.flops = flops / tp;
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      int64_t d = dimOf(maps[i], loop);
      s.operands.push_back(d >= 0 ? TpSpec{TpSpec::S, d} : TpSpec{});
      // A parallel loop the operand does not index: each device's gradient
      // of it sums over its share of that loop only.
      s.partialGrad.push_back(!reduction && d < 0 && hasGrad(fn, v));
    }
    for (size_t r = 0; r < op->getNumResults(); ++r) {
      int64_t d = dimOf(maps[op->getNumOperands() + r], loop);
      s.results.push_back(d >= 0      ? TpSpec{TpSpec::S, d}
                          : reduction ? TpSpec{TpSpec::P, -1}
                                      : TpSpec{});
    }
    bytesOf(s);
    out.push_back(std::move(s));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Resharding costs.
//===----------------------------------------------------------------------===//

double mlir::weft::reshardCost(const TpSpec &from, const TpSpec &to, bool partialGrad, bool grad,
                               double bytes, const IlpCostContext &ctx,
                               std::vector<SegmentCosts::Comm> *comms) {
  const ClusterSpec &c = *ctx.cluster;
  GroupPlacement g = tpGroup(c, 1, ctx.tp, 1);
  double total = 0;
  auto gather = [&](double b, bool backward) { // all-gather, reduce-scatter
    total += allGatherTime(c, g, b);
    if (comms)
      comms->push_back({true, b, backward});
  };
  auto allToAll = [&](bool backward) { // (n-1)/n of the local block
    gather(bytes / ctx.tp, backward);
  };
  auto allReduce = [&](bool backward) {
    total += allReduceTime(c, g, bytes);
    if (comms)
      comms->push_back({false, bytes, backward});
  };
  using K = TpSpec::Kind;
  // Forward: what the producer's layout needs to become the reader's.
  if (from == to) {
  } else if (from.kind == K::R && to.kind == K::S) {
    // a local slice
  } else if (from.kind == K::S && to.kind == K::R) {
    gather(bytes, false);
  } else if (from.kind == K::S && to.kind == K::S) {
    allToAll(false);
  } else if (from.kind == K::P && to.kind == K::R) {
    allReduce(false);
  } else if (from.kind == K::P && to.kind == K::S) {
    gather(bytes, false); // a reduce-scatter
  }
  if (!grad)
    return total;
  // Backward: the gradient goes the other way (each collective's transpose).
  // A partial gradient of a replicated (or partial) value is summed once per
  // value, by the problem's once-paid all-reduce, not here.
  if (from == to) {
  } else if (from.kind == K::R && to.kind == K::S) {
    gather(bytes, true); // the slices' gradients, gathered
  } else if (from.kind == K::S && to.kind == K::R) {
    if (partialGrad)
      gather(bytes, true); // a reduce-scatter sums and splits it
  } else if (from.kind == K::S && to.kind == K::S) {
    allToAll(true);
  } else if (from.kind == K::P && to.kind == K::S) {
    gather(bytes, true);
  }
  return total;
}

//===----------------------------------------------------------------------===//
// A segment's problem.
//===----------------------------------------------------------------------===//

namespace {
enum class NodeKind { Op, Param, Source, Sink };
} // namespace

SegmentProblem mlir::weft::buildSegmentProblem(func::FuncOp fn, ArrayRef<Operation *> ops,
                                               const IlpCostContext &ctx) {
  SegmentProblem sp;
  const int64_t tp = ctx.tp;
  const ClusterSpec &c = *ctx.cluster;
  // Node costs: forward plus a backward of twice the work, as the planner
  // counts them.
  auto computeTime = [&](const TpStrategy &s) {
    return 3 * opTime(c, ctx.bf16, s.matmul, s.flops, s.actBytes + s.paramBytes);
  };
  llvm::DenseMap<Operation *, int> nodeOfOp;
  llvm::DenseMap<Value, int> nodeOfValue; // parameters and outside values
  std::vector<NodeKind> kinds;
  auto addNode = [&](NodeKind k, SegmentProblem::NodeInfo info, std::vector<double> cost) {
    sp.nodes.push_back(std::move(info));
    sp.ilp.nodes.push_back({std::move(cost)});
    kinds.push_back(k);
    return static_cast<int>(sp.nodes.size()) - 1;
  };
  llvm::DenseSet<Operation *> inSegment(ops.begin(), ops.end());
  for (Operation *op : ops) {
    if (op->getNumResults() == 0)
      continue;
    SegmentProblem::NodeInfo info;
    info.op = op;
    info.strategies = opStrategies(fn, op, tp, ctx.bf16);
    std::vector<double> cost;
    for (const TpStrategy &s : info.strategies)
      cost.push_back(computeTime(s));
    nodeOfOp[op] = addNode(NodeKind::Op, std::move(info), std::move(cost));
  }
  // A parameter's layout is its strategy: replicated, or split along any
  // dimension tp divides. Its cost is the optimizer's update of what it holds.
  auto paramNode = [&](Value v) {
    auto it = nodeOfValue.find(v);
    if (it != nodeOfValue.end())
      return it->second;
    auto type = llvm::cast<RankedTensorType>(v.getType());
    SegmentProblem::NodeInfo info;
    info.param = llvm::cast<BlockArgument>(v);
    std::vector<double> cost;
    const double elements = static_cast<double>(type.getNumElements());
    const double hbm = c.device.hbmBandwidth * c.device.memoryEfficiency;
    auto add = [&](TpSpec spec) {
      TpStrategy s;
      s.results = {spec};
      info.strategies.push_back(s);
      cost.push_back(elements / (spec.kind == TpSpec::S ? tp : 1) * ctx.optimizerBytesPerElement /
                     hbm);
    };
    add({});
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.getDimSize(d) % tp == 0)
        add({TpSpec::S, d});
    int n = addNode(NodeKind::Param, std::move(info), std::move(cost));
    nodeOfValue[v] = n;
    return n;
  };
  // Inputs, constants and values of earlier segments come in replicated.
  auto sourceNode = [&](Value v) {
    auto it = nodeOfValue.find(v);
    if (it != nodeOfValue.end())
      return it->second;
    SegmentProblem::NodeInfo info;
    TpStrategy s;
    s.results = {TpSpec{}};
    info.strategies = {s};
    int n = addNode(NodeKind::Source, std::move(info), {0.0});
    nodeOfValue[v] = n;
    return n;
  };
  auto resultIndex = [](Value v) -> unsigned {
    if (auto r = llvm::dyn_cast<OpResult>(v))
      return r.getResultNumber();
    return 0;
  };
  // Values whose gradient may come back partial from several readers: the
  // all-reduce is paid once (g >= each trigger pair).
  llvm::DenseMap<Value, int> onceOf;
  auto addEdge = [&](Value v, int src, int dst, int operand) {
    const bool grad = hasGrad(fn, v);
    const double bytes = typeBytes(v.getType(), ctx.bf16);
    IlpProblem::Edge e;
    e.src = src;
    e.dst = dst;
    const int edgeIndex = static_cast<int>(sp.ilp.edges.size());
    const auto &srcS = sp.nodes[src].strategies;
    const auto &dstS = sp.nodes[dst].strategies;
    unsigned ri = kinds[src] == NodeKind::Op ? resultIndex(v) : 0;
    e.cost.assign(srcS.size(), std::vector<double>(dstS.size(), 0));
    for (size_t i = 0; i < srcS.size(); ++i)
      for (size_t j = 0; j < dstS.size(); ++j) {
        const TpSpec &from = srcS[i].results[ri];
        const TpSpec &to = dstS[j].operands[operand];
        const bool partial = dstS[j].partialGrad[operand];
        e.cost[i][j] = reshardCost(from, to, partial, grad, bytes, ctx);
        if (grad && partial && to.kind == TpSpec::R && from.kind != TpSpec::S) {
          auto [it, inserted] = onceOf.try_emplace(v, static_cast<int>(sp.ilp.once.size()));
          if (inserted) {
            sp.ilp.once.push_back({allReduceTime(c, tpGroup(c, 1, tp, 1), bytes), {}});
            sp.onceValues.push_back(v);
          }
          sp.ilp.once[it->second].triggers.push_back(
              {edgeIndex, static_cast<int>(i), static_cast<int>(j)});
        }
      }
    sp.ilp.edges.push_back(std::move(e));
    sp.edges.push_back({v, operand, bytes, grad});
  };
  for (Operation *op : ops) {
    auto it = nodeOfOp.find(op);
    if (it == nodeOfOp.end())
      continue;
    int dst = it->second;
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      if (!llvm::isa<RankedTensorType>(v.getType()))
        continue;
      int src;
      Operation *def = v.getDefiningOp();
      if (def && nodeOfOp.count(def))
        src = nodeOfOp[def];
      else if (isParam(fn, v))
        src = paramNode(v);
      else
        src = sourceNode(v);
      addEdge(v, src, dst, static_cast<int>(i));
    }
  }
  // Values read after the segment (later layers, the function's results)
  // leave it replicated: one sink per value.
  for (Operation *op : ops) {
    auto it = nodeOfOp.find(op);
    if (it == nodeOfOp.end())
      continue;
    for (Value r : op->getResults()) {
      if (llvm::all_of(r.getUsers(), [&](Operation *u) { return inSegment.count(u); }))
        continue;
      SegmentProblem::NodeInfo info;
      TpStrategy s;
      s.operands = {TpSpec{}};
      s.partialGrad = {false};
      info.strategies = {s};
      int sink = addNode(NodeKind::Sink, std::move(info), {0.0});
      addEdge(r, it->second, sink, 0);
    }
  }
  return sp;
}

SegmentCosts mlir::weft::segmentCosts(const SegmentProblem &sp, const std::vector<int> &choice,
                                      const IlpCostContext &ctx) {
  SegmentCosts out;
  for (size_t v = 0; v < sp.nodes.size(); ++v) {
    const SegmentProblem::NodeInfo &n = sp.nodes[v];
    const TpStrategy &s = n.strategies[choice[v]];
    if (n.op) {
      out.ops.push_back({s.matmul, s.flops, s.actBytes, s.paramBytes});
      // Views and broadcasts fuse into their users; the rest is kept.
      if (!llvm::isa<ReshapeOp, BroadcastInDimOp, ConstantOp>(n.op))
        for (auto [i, r] : llvm::enumerate(n.op->getResults()))
          out.stored += typeBytes(r.getType(), ctx.bf16) /
                        (s.results[i].kind == TpSpec::S ? ctx.tp : 1);
    } else if (n.param) {
      auto type = llvm::cast<RankedTensorType>(n.param.getType());
      out.paramElements += static_cast<double>(type.getNumElements()) /
                           (s.results[0].kind == TpSpec::S ? ctx.tp : 1);
    }
  }
  for (size_t k = 0; k < sp.ilp.edges.size(); ++k) {
    const IlpProblem::Edge &e = sp.ilp.edges[k];
    const SegmentProblem::EdgeInfo &info = sp.edges[k];
    const TpStrategy &from = sp.nodes[e.src].strategies[choice[e.src]];
    const TpStrategy &to = sp.nodes[e.dst].strategies[choice[e.dst]];
    unsigned ri = sp.nodes[e.src].op ? llvm::cast<OpResult>(info.value).getResultNumber() : 0;
    const TpSpec &target = to.operands[info.operand];
    size_t before = out.comms.size();
    reshardCost(from.results[ri], target, to.partialGrad[info.operand], info.grad, info.bytes,
                ctx, &out.comms);
    // A forward collective's result is kept for the backward too.
    if (llvm::any_of(llvm::make_range(out.comms.begin() + before, out.comms.end()),
                     [](const SegmentCosts::Comm &cm) { return !cm.backward; }))
      out.stored += info.bytes / (target.kind == TpSpec::S ? ctx.tp : 1);
  }
  for (size_t k = 0; k < sp.ilp.once.size(); ++k)
    for (const IlpProblem::Trigger &t : sp.ilp.once[k].triggers) {
      const IlpProblem::Edge &e = sp.ilp.edges[t.edge];
      if (choice[e.src] == t.src && choice[e.dst] == t.dst) {
        out.comms.push_back(
            {false, typeBytes(sp.onceValues[k].getType(), ctx.bf16), /*backward=*/true});
        break;
      }
    }
  return out;
}

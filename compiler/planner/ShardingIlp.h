//===- ShardingIlp.h - per-op tensor-parallel shardings by an ILP ---------===//
//
// Where Megatron's patterns do not match a layer, the planner picks each op's
// sharding over the tp axis the way Alpa's intra-operator pass does (Zheng et
// al., OSDI 2022, section 4.2): every op has a few strategies (replicated, or
// one of its loops split over tp: a split parallel loop splits the tensors
// that index it, a split reduction loop leaves a partial sum), each with a
// compute time, and every edge between two ops has a resharding time that
// depends on the pair of strategies. Choosing one strategy per op to minimise
// the sum is an integer linear program.
//
// Why CBC: it is Debian's (coinor-libcbc-dev), free, and exact: a branch and
// cut over the LP relaxation proves the optimum, where a greedy or DP pass
// would not on graphs with branches (attention's q, k and v). The problems are
// small (one layer, solved once for all identical layers), so it takes
// milliseconds.
//
// The encoding (Alpa's):
//   s[v][i] in {0, 1}      op v takes strategy i;  sum_i s[v][i] = 1
//   e[uv][i][j] in [0, 1]  edge u -> v takes the pair (i, j):
//                          sum_j e[uv][i][j] = s[u][i],  sum_i e[uv][i][j] = s[v][j]
//                          (with s integral these force e = s[u][i] s[v][j])
//   g[k] in [0, 1]         a cost paid once when any of its trigger pairs is
//                          taken: g[k] >= e[uv][i][j] for each trigger
//   minimise  sum c[v][i] s[v][i] + sum r[uv][i][j] e[uv][i][j] + sum w[k] g[k]
// The once-paid costs are the all-reduce of a value's gradient when several
// readers each leave it partial (Megatron's one all-reduce for q, k and v).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_PLANNER_SHARDINGILP_H
#define WEFT_COMPILER_PLANNER_SHARDINGILP_H

#include "compiler/cost/Cluster.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace mlir::weft {

/// The abstract problem: nodes with per-strategy costs, edges with a cost per
/// pair of strategies, and costs paid once for a set of edge pairs.
struct IlpProblem {
  struct Node {
    std::vector<double> cost; // one per strategy
  };
  struct Edge {
    int src = 0, dst = 0;
    std::vector<std::vector<double>> cost; // [src strategy][dst strategy]
  };
  struct Trigger {
    int edge = 0, src = 0, dst = 0; // the edge and its pair of strategies
  };
  struct Once {
    double cost = 0;
    std::vector<Trigger> triggers;
  };
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  std::vector<Once> once;
};

struct IlpSolution {
  std::vector<int> choice; // a strategy per node
  double cost = 0;
};

/// The objective for a given choice of strategies.
double ilpCost(const IlpProblem &p, const std::vector<int> &choice);
/// Solves with CBC. Fails with `error` set when CBC finds no optimum.
FailureOr<IlpSolution> solveIlp(const IlpProblem &p, std::string &error);
/// Every combination (for tests: small problems only).
IlpSolution bruteForceIlp(const IlpProblem &p);

/// A tensor's layout on the tp axis.
struct TpSpec {
  enum Kind { R, S, P } kind = R;
  int64_t dim = -1; // S only
  bool operator==(const TpSpec &o) const { return kind == o.kind && dim == o.dim; }
  std::string str() const; // "R", "S1", "P"
};

/// One strategy of an op (or a parameter, whose layout is its strategy).
struct TpStrategy {
  int64_t loop = -1;              // the loop split over tp (-1: replicated)
  std::vector<TpSpec> operands;   // what each operand must be
  std::vector<TpSpec> results;
  std::vector<bool> partialGrad;  // per operand: its gradient comes out partial
  double flops = 0, actBytes = 0, paramBytes = 0; // local, per device, forward
  bool matmul = false;
  std::string label() const;      // "S1 x R -> S1" style
};

/// One segment's (a layer's) problem, built from its ops on the model's
/// global shapes. Nodes are the segment's ops that have results and the
/// parameters they read; values from other segments, inputs and constants
/// come in replicated, and values read by later segments leave replicated.
struct SegmentProblem {
  IlpProblem ilp;
  struct NodeInfo {
    Operation *op = nullptr; // or the parameter:
    BlockArgument param;
    std::vector<TpStrategy> strategies;
  };
  std::vector<NodeInfo> nodes;
  // Per edge: the value's bytes, and whether it carries a gradient.
  struct EdgeInfo {
    Value value;
    int operand = 0;
    double bytes = 0;
    bool grad = true;
  };
  std::vector<EdgeInfo> edges; // parallel to ilp.edges
  std::vector<Value> onceValues; // parallel to ilp.once
};

struct IlpCostContext {
  const ClusterSpec *cluster = nullptr;
  bool bf16 = false;
  int64_t tp = 2;
  double optimizerBytesPerElement = 0; // the update's traffic per parameter element
};

/// Builds the problem for `ops` (in order, a contiguous piece of `fn`).
SegmentProblem buildSegmentProblem(func::FuncOp fn, ArrayRef<Operation *> ops,
                                   const IlpCostContext &ctx);

/// What a solved segment costs, in the planner's terms (at the model's batch).
struct SegmentCosts {
  struct Op {
    bool matmul = false;
    double flops = 0, act = 0, param = 0;
  };
  struct Comm {
    bool gather = false; // all-gather / reduce-scatter / all-to-all; else all-reduce
    double bytes = 0;
    bool backward = false;
  };
  std::vector<Op> ops;
  std::vector<Comm> comms;
  double stored = 0;        // activation bytes kept for the backward
  double paramElements = 0; // per device (split ones / tp)
};
SegmentCosts segmentCosts(const SegmentProblem &sp, const std::vector<int> &choice,
                          const IlpCostContext &ctx);

/// Forward and backward resharding of one edge: what the producer's layout
/// `from` becomes for a reader that needs `to`, and what its gradient needs on
/// the way back (`partialGrad`: the reader leaves it partial; `grad`: the
/// value has a gradient at all). The collectives are listed in `comms`.
double reshardCost(const TpSpec &from, const TpSpec &to, bool partialGrad, bool grad,
                   double bytes, const IlpCostContext &ctx,
                   std::vector<SegmentCosts::Comm> *comms = nullptr);

} // namespace mlir::weft

#endif

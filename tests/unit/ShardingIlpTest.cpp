// The per-op sharding ILP (compiler/planner/ShardingIlp.h): CBC's optimum
// against a brute force on random problems and on a small MLP, the
// strategies the ops' ShardingInterface allows, resharding costs worked out
// by hand, and on a GPT block a plan at least as cheap as Megatron's under
// the same costs, whose choice is read off the real tensor-parallel pass.
#include "TestUtil.h"

#include "compiler/cost/CostModel.h"
#include "compiler/pipelines/Pipelines.h"
#include "compiler/planner/Planner.h"
#include "compiler/planner/ShardingIlp.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Pass/PassManager.h"

#include <random>

using namespace mlir;
using namespace mlir::weft;

namespace {

// --- the abstract ILP against every combination ------------------------------

IlpProblem randomProblem(std::mt19937 &rng, int nodes) {
  std::uniform_int_distribution<int> strategies(1, 4);
  std::uniform_real_distribution<double> cost(0, 1e-3);
  std::bernoulli_distribution edge(0.45), trigger(0.3);
  IlpProblem p;
  for (int v = 0; v < nodes; ++v) {
    IlpProblem::Node n;
    for (int i = strategies(rng); i > 0; --i)
      n.cost.push_back(cost(rng));
    p.nodes.push_back(n);
  }
  for (int u = 0; u < nodes; ++u)
    for (int v = u + 1; v < nodes; ++v) {
      if (!edge(rng))
        continue;
      IlpProblem::Edge e;
      e.src = u;
      e.dst = v;
      e.cost.assign(p.nodes[u].cost.size(), std::vector<double>(p.nodes[v].cost.size()));
      for (auto &row : e.cost)
        for (double &c : row)
          c = cost(rng);
      p.edges.push_back(e);
    }
  // Once-paid costs over random pairs of edges that leave one node.
  for (int u = 0; u < nodes; ++u) {
    IlpProblem::Once o;
    o.cost = 2 * cost(rng);
    for (size_t k = 0; k < p.edges.size(); ++k)
      if (p.edges[k].src == u)
        for (size_t i = 0; i < p.edges[k].cost.size(); ++i)
          for (size_t j = 0; j < p.edges[k].cost[i].size(); ++j)
            if (trigger(rng))
              o.triggers.push_back({static_cast<int>(k), static_cast<int>(i), static_cast<int>(j)});
    if (!o.triggers.empty())
      p.once.push_back(o);
  }
  return p;
}

TEST(ShardingIlp, CbcEqualsBruteForceOnRandomProblems) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    IlpProblem p = randomProblem(rng, 3 + trial % 6);
    std::string error;
    FailureOr<IlpSolution> cbc = solveIlp(p, error);
    ASSERT_TRUE(succeeded(cbc)) << error;
    IlpSolution brute = bruteForceIlp(p);
    EXPECT_NEAR(cbc->cost, brute.cost, 1e-9) << "trial " << trial;
    EXPECT_NEAR(ilpCost(p, cbc->choice), cbc->cost, 1e-15);
  }
}

TEST(ShardingIlp, OncePaidCostIsPaidOnce) {
  // Node 0 feeds nodes 1 and 2; strategy 1 of each reader triggers the same
  // once-paid cost of 5, and saves 3 of compute: taking both is worth it
  // (6 saved, 5 paid), taking one is not (3 saved, 5 paid).
  IlpProblem p;
  p.nodes = {{{0}}, {{3, 0}}, {{3, 0}}};
  p.edges = {{0, 1, {{0, 0}}}, {0, 2, {{0, 0}}}};
  p.once = {{5, {{0, 0, 1}, {1, 0, 1}}}};
  std::string error;
  FailureOr<IlpSolution> s = solveIlp(p, error);
  ASSERT_TRUE(succeeded(s)) << error;
  EXPECT_EQ(s->choice, (std::vector<int>{0, 1, 1}));
  EXPECT_NEAR(s->cost, 5, 1e-12);
  p.nodes[2].cost = {3, 2}; // now the second reader saves only 1
  s = solveIlp(p, error);
  ASSERT_TRUE(succeeded(s)) << error;
  EXPECT_EQ(s->choice, (std::vector<int>{0, 0, 0}));
  EXPECT_NEAR(s->cost, 6, 1e-12);
}

// --- resharding costs by hand ----------------------------------------------------

TEST(ShardingIlp, ReshardCosts) {
  ClusterSpec c;
  c.devicesPerNode = 8;
  c.intraNode = {100e9, 1e-6};
  IlpCostContext ctx;
  ctx.cluster = &c;
  ctx.tp = 4;
  const double B = 4e6;
  const double ag = ringAllGatherTime(B, 4, c.intraNode);          // 3 us + 30 us
  const double ar = allReduceTime(c, {4, 4}, B);                   // ring or tree
  const double a2a = ringAllGatherTime(B / 4, 4, c.intraNode);     // (n-1)/n of a quarter
  TpSpec R, S0{TpSpec::S, 0}, S1{TpSpec::S, 1}, P{TpSpec::P, -1};
  EXPECT_NEAR(ag, 3e-6 + 3e-5, 1e-15);
  // Forward only (no gradient): slicing is free, gathering is not.
  EXPECT_EQ(reshardCost(R, S0, false, false, B, ctx), 0);
  EXPECT_NEAR(reshardCost(S0, R, false, false, B, ctx), ag, 1e-15);
  EXPECT_NEAR(reshardCost(S0, S1, false, false, B, ctx), a2a, 1e-15);
  EXPECT_NEAR(reshardCost(P, R, false, false, B, ctx), ar, 1e-15);
  EXPECT_NEAR(reshardCost(P, S1, false, false, B, ctx), ag, 1e-15); // reduce-scatter
  // With a gradient, each collective's transpose: a slice's gradient is
  // gathered, a gather's partial gradient reduce-scattered, an all-reduce's
  // gradient passes through.
  EXPECT_NEAR(reshardCost(R, S0, false, true, B, ctx), ag, 1e-15);
  EXPECT_NEAR(reshardCost(S0, R, true, true, B, ctx), 2 * ag, 1e-15);
  EXPECT_NEAR(reshardCost(S0, R, false, true, B, ctx), ag, 1e-15);
  EXPECT_NEAR(reshardCost(S0, S1, false, true, B, ctx), 2 * a2a, 1e-15);
  EXPECT_NEAR(reshardCost(P, R, false, true, B, ctx), ar, 1e-15);
  EXPECT_NEAR(reshardCost(P, S0, false, true, B, ctx), 2 * ag, 1e-15);
  std::vector<SegmentCosts::Comm> comms;
  reshardCost(P, S0, false, true, B, ctx, &comms);
  ASSERT_EQ(comms.size(), 2u);
  EXPECT_FALSE(comms[0].backward);
  EXPECT_TRUE(comms[1].backward);
}

// --- problems built from models ---------------------------------------------------

class ShardingIlpModel : public weft_test::WeftTest {
protected:
  IlpCostContext context(int64_t tp) {
    cluster = *clusterPreset("a100-80g-8x");
    IlpCostContext ctx;
    ctx.cluster = &cluster;
    ctx.bf16 = true;
    ctx.tp = tp;
    StateBytes s = stateBytes(true, true);
    ctx.optimizerBytesPerElement = 2 * s.weight + s.gradient + 2 * s.optimizer;
    return ctx;
  }
  // Plans `module` on one A100 node with tp fixed to 8.
  FailureOr<PlanResult> planTp8(ModuleOp module, PlannerOptions &o) {
    o.cluster = *clusterPreset("a100-80g-8x");
    o.devices = 8;
    o.bf16 = true;
    o.fixTp = 8;
    return planPlacement(module, o);
  }
  static std::vector<Operation *> opsOf(func::FuncOp fn, int64_t block) {
    std::vector<Operation *> ops;
    for (Operation &op : fn.getBody().front().without_terminator()) {
      auto tag = op.getAttrOfType<IntegerAttr>("weft.block");
      if (block < 0 || (tag && tag.getInt() == block))
        ops.push_back(&op);
    }
    return ops;
  }
  ClusterSpec cluster;
};

const char *kMlp = R"(
module {
  func.func @forward(%x: tensor<2048x1024xf32> {weft.input = "x"},
                     %w1: tensor<1024x4096xf32> {weft.param = "w1", weft.init = {dist = "zeros"}},
                     %w2: tensor<4096x1024xf32> {weft.param = "w2", weft.init = {dist = "zeros"}})
      -> (tensor<2048x1024xf32> {weft.output = "y"}) {
    %h = weft.matmul %x, %w1 : (tensor<2048x1024xf32>, tensor<1024x4096xf32>) -> tensor<2048x4096xf32>
    %a = weft.gelu %h : tensor<2048x4096xf32>
    %y = weft.matmul %a, %w2 : (tensor<2048x4096xf32>, tensor<4096x1024xf32>) -> tensor<2048x1024xf32>
    return %y : tensor<2048x1024xf32>
  }
}
)";

TEST_F(ShardingIlpModel, StrategiesComeFromTheShardingInterface) {
  auto m = parse(kMlp);
  ASSERT_TRUE(m) << allDiagnostics();
  func::FuncOp fn = getForward(*m);
  IlpCostContext ctx = context(4);
  SegmentProblem sp = buildSegmentProblem(fn, opsOf(fn, -1), ctx);
  // Nodes: 3 ops, the input, 2 parameters, the output's sink.
  ASSERT_EQ(sp.nodes.size(), 7u);
  // matmul: replicated, then its loops M, N (parallel) and K (sum).
  std::vector<std::string> labels;
  for (const TpStrategy &s : sp.nodes[0].strategies)
    labels.push_back(s.label());
  EXPECT_EQ(labels, (std::vector<std::string>{"R x R -> R", "S0 x R -> S0", "R x S1 -> S1",
                                              "S1 x S0 -> P"}));
  // Splitting M (the batch) leaves w1's gradient partial; splitting N would
  // leave x's (Megatron's f), but an input has no gradient.
  EXPECT_EQ(sp.nodes[0].strategies[1].partialGrad, (std::vector<bool>{false, true}));
  EXPECT_EQ(sp.nodes[0].strategies[2].partialGrad, (std::vector<bool>{false, false}));
  EXPECT_EQ(sp.nodes[0].strategies[2].flops, 2.0 * 2048 * 1024 * 4096 / 4);
}

TEST_F(ShardingIlpModel, SoftmaxAxisIsNotSplit) {
  auto m = parse(R"(
module {
  func.func @forward(%x: tensor<8x16xf32> {weft.input = "x"})
      -> (tensor<8x16xf32> {weft.output = "y"}) {
    %y = weft.softmax %x {dim = 1 : i64} : tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}
)");
  ASSERT_TRUE(m) << allDiagnostics();
  func::FuncOp fn = getForward(*m);
  SegmentProblem sp = buildSegmentProblem(fn, opsOf(fn, -1), context(2));
  std::vector<std::string> labels;
  for (const TpStrategy &s : sp.nodes[0].strategies)
    labels.push_back(s.label());
  EXPECT_EQ(labels, (std::vector<std::string>{"R -> R", "S0 -> S0"}));
}

TEST_F(ShardingIlpModel, MlpEqualsBruteForceAndSplitsLikeMegatron) {
  auto m = parse(kMlp);
  ASSERT_TRUE(m) << allDiagnostics();
  func::FuncOp fn = getForward(*m);
  for (int64_t tp : {2, 4, 8}) {
    IlpCostContext ctx = context(tp);
    SegmentProblem sp = buildSegmentProblem(fn, opsOf(fn, -1), ctx);
    std::string error;
    FailureOr<IlpSolution> cbc = solveIlp(sp.ilp, error);
    ASSERT_TRUE(succeeded(cbc)) << error;
    IlpSolution brute = bruteForceIlp(sp.ilp);
    EXPECT_NEAR(cbc->cost, brute.cost, 1e-12 + 1e-9 * brute.cost) << "tp=" << tp;
    // Cheaper than leaving it whole.
    EXPECT_LT(cbc->cost, ilpCost(sp.ilp, std::vector<int>(sp.nodes.size(), 0)));
    // Megatron's column-then-row split wins: one all-reduce of y (4 MB) where
    // splitting the batch would all-reduce both weights' gradients (16 MB).
    EXPECT_EQ(sp.nodes[0].strategies[cbc->choice[0]].label(), "R x S1 -> S1") << "tp=" << tp;
    EXPECT_EQ(sp.nodes[2].strategies[cbc->choice[2]].label(), "S1 x S0 -> P") << "tp=" << tp;
  }
}

// Megatron's choice for `block` of `module`, read off the real
// tensor-parallel pass: each op's local shapes give its operands' and
// results' layouts (a result that an all-reduce sums is partial).
std::vector<int> megatronChoice(ModuleOp module, func::FuncOp fn, const SegmentProblem &sp,
                                int64_t tp, int64_t block, std::string &why) {
  OwningOpRef<ModuleOp> clone = module.clone();
  PassManager pm(module.getContext());
  WeftPipelineOptions options;
  options.tp = tp;
  addWeftPartitionPipeline(pm, options);
  if (failed(pm.run(*clone))) {
    why = "the tensor-parallel pass failed";
    return {};
  }
  func::FuncOp local = getForward(*clone);
  std::vector<Operation *> mine;
  for (Operation &op : local.getBody().front().without_terminator()) {
    auto tag = op.getAttrOfType<IntegerAttr>("weft.block");
    if (tag && tag.getInt() == block && !llvm::isa<TpCopyOp>(op) &&
        op.getDialect()->getNamespace() == "weft")
      mine.push_back(&op);
  }
  auto specOf = [&](Type global, Type localType) {
    auto g = llvm::cast<RankedTensorType>(global), l = llvm::cast<RankedTensorType>(localType);
    for (int64_t d = 0; d < g.getRank(); ++d)
      if (g.getDimSize(d) != l.getDimSize(d))
        return TpSpec{TpSpec::S, d};
    return TpSpec{};
  };
  auto through = [](Value v) { // the value an inserted tp_copy forwards
    if (auto copy = v.getDefiningOp<TpCopyOp>())
      return copy->getOperand(0);
    return v;
  };
  std::vector<int> choice(sp.nodes.size(), 0);
  size_t k = 0;
  for (size_t v = 0; v < sp.nodes.size(); ++v) {
    const SegmentProblem::NodeInfo &n = sp.nodes[v];
    std::vector<TpSpec> operands, results;
    if (n.op) {
      if (k >= mine.size() || mine[k]->getName() != n.op->getName()) {
        why = "op " + std::to_string(k) + " does not line up";
        return {};
      }
      Operation *l = mine[k++];
      for (auto [g, lv] : llvm::zip(n.op->getOperands(), l->getOperands()))
        operands.push_back(llvm::isa<RankedTensorType>(g.getType())
                               ? specOf(g.getType(), through(lv).getType())
                               : TpSpec{});
      for (auto [g, lr] : llvm::zip(n.op->getResults(), l->getResults())) {
        TpSpec s = specOf(g.getType(), lr.getType());
        if (s.kind == TpSpec::R && llvm::any_of(lr.getUsers(), [](Operation *u) {
              return llvm::isa<shard::AllReduceOp>(u);
            }))
          s = {TpSpec::P, -1};
        results.push_back(s);
      }
    } else if (n.param) {
      results.push_back(
          specOf(n.param.getType(), local.getArgument(n.param.getArgNumber()).getType()));
    } else {
      continue; // sources and sinks have one strategy
    }
    bool found = false;
    for (size_t i = 0; i < n.strategies.size() && !found; ++i) {
      const TpStrategy &s = n.strategies[i];
      if (s.results == results && (!n.op || s.operands == operands)) {
        choice[v] = static_cast<int>(i);
        found = true;
      }
    }
    if (!found) {
      why = "no strategy of " + (n.op ? n.op->getName().getStringRef().str() : "a parameter") +
            " matches Megatron's layouts";
      return {};
    }
  }
  return choice;
}

TEST_F(ShardingIlpModel, TransformerBlockAtLeastAsCheapAsMegatron) {
  for (auto [batch, hidden, tp] : {std::tuple{8, 512, 2}, {8, 1024, 4}, {4, 2048, 8}}) {
    ModelSpec spec;
    spec.kind = "gpt";
    spec.layers = 1;
    spec.hidden = hidden;
    spec.heads = 16;
    spec.vocab = 1024;
    spec.seq = 256;
    spec.batch = batch;
    std::string error;
    auto m = generateModel(&ctx, spec, error);
    ASSERT_TRUE(succeeded(m)) << error;
    func::FuncOp fn = getForward(**m);
    IlpCostContext c = context(tp);
    SegmentProblem sp = buildSegmentProblem(fn, opsOf(fn, 0), c);
    FailureOr<IlpSolution> ilp = solveIlp(sp.ilp, error);
    ASSERT_TRUE(succeeded(ilp)) << error;
    std::string why;
    std::vector<int> megatron = megatronChoice(**m, fn, sp, tp, 0, why);
    ASSERT_FALSE(megatron.empty()) << why;
    const double megatronCost = ilpCost(sp.ilp, megatron);
    const double replicated = ilpCost(sp.ilp, std::vector<int>(sp.nodes.size(), 0));
    EXPECT_LE(ilp->cost, megatronCost * (1 + 1e-9)) << "hidden " << hidden << " tp " << tp;
    EXPECT_LT(megatronCost, replicated); // Megatron beats doing nothing
    // Megatron's traffic under these costs: two all-reduces forward (after
    // the attention and MLP output projections) and two backward (into the
    // q/k/v and fc inputs), of b*s*h each.
    SegmentCosts mc = segmentCosts(sp, megatron, c);
    int forward = 0, backward = 0;
    for (const SegmentCosts::Comm &cm : mc.comms) {
      EXPECT_FALSE(cm.gather);
      EXPECT_EQ(cm.bytes, 2.0 * batch * spec.seq * hidden);
      (cm.backward ? backward : forward)++;
    }
    EXPECT_EQ(forward, 2);
    EXPECT_EQ(backward, 2);
  }
}

// The planner uses the ILP where the patterns leave a layer whole: two
// matmuls with a softmax between them are no Megatron MLP (whose middle must
// be elementwise), and the pass refuses tp; the ILP splits them.
TEST_F(ShardingIlpModel, PlannerSplitsWhatThePatternsMiss) {
  auto m = parse(R"(
module {
  func.func @forward(%x: tensor<64x1024xf32> {weft.input = "x"},
                     %w1: tensor<1024x4096xf32> {weft.param = "w1", weft.init = {dist = "zeros"}},
                     %w2: tensor<4096x1024xf32> {weft.param = "w2", weft.init = {dist = "zeros"}})
      -> (tensor<f32> {weft.output = "loss", weft.loss}) {
    %a = weft.softmax %x {dim = 1 : i64, weft.block = 0 : i64} : tensor<64x1024xf32>
    %h = weft.matmul %a, %w1 {weft.block = 0 : i64} : (tensor<64x1024xf32>, tensor<1024x4096xf32>) -> tensor<64x4096xf32>
    %s = weft.softmax %h {dim = 0 : i64, weft.block = 0 : i64} : tensor<64x4096xf32>
    %y = weft.matmul %s, %w2 {weft.block = 0 : i64} : (tensor<64x4096xf32>, tensor<4096x1024xf32>) -> tensor<64x1024xf32>
    %l = weft.reduce "mean" %y, dims = [0, 1] : tensor<64x1024xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}
)");
  ASSERT_TRUE(m) << allDiagnostics();
  PlannerOptions o;
  FailureOr<PlanResult> r = planTp8(*m, o);
  ASSERT_TRUE(succeeded(r)) << allDiagnostics();
  ASSERT_FALSE(r->top.empty());
  EXPECT_EQ(r->top[0].ilpSegments, 1);
  EXPECT_EQ(r->ilpSolves, 2); // the layer, and the loss after it (left whole)
  ASSERT_FALSE(r->ilpChoices.empty());
  // Without the ILP the patterns find nothing to split: tp=8 is not possible.
  o.ilp = false;
  EXPECT_TRUE(failed(planPlacement(*m, o)));
  EXPECT_TRUE(sawDiagnostic("found nothing to split")) << allDiagnostics();
  // With it, each of the 8 devices computes much less than one device alone.
  o.fixTp = 0;
  o.devices = 1;
  FailureOr<PlanResult> one = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(one)) << allDiagnostics();
  ASSERT_FALSE(one->top.empty());
  EXPECT_LT(r->top[0].compute, one->top[0].compute / 4);
}

// Repeated layers are solved once: three identical layers (big enough that
// splitting them pays for the gathers between them), one CBC solve for them
// (plus one for the loss after them), all three split.
TEST_F(ShardingIlpModel, RepeatedLayersSolvedOnce) {
  std::string text = R"(
module {
  func.func @forward(%x: tensor<2048x4096xf32> {weft.input = "x"},)";
  for (int l = 0; l < 3; ++l)
    text += "\n    %w" + std::to_string(l) +
            ": tensor<4096x4096xf32> {weft.param = \"w" + std::to_string(l) +
            "\", weft.init = {dist = \"zeros\"}}" + (l < 2 ? "," : "");
  text += R"()
      -> (tensor<f32> {weft.output = "loss", weft.loss}) {
)";
  std::string prev = "%x";
  for (int l = 0; l < 3; ++l) {
    std::string b = std::to_string(l), tag = " {weft.block = " + b + " : i64}";
    text += "    %h" + b + " = weft.matmul " + prev + ", %w" + b + tag +
            " : (tensor<2048x4096xf32>, tensor<4096x4096xf32>) -> tensor<2048x4096xf32>\n";
    text += "    %s" + b + " = weft.softmax %h" + b + " {dim = 0 : i64, weft.block = " + b +
            " : i64} : tensor<2048x4096xf32>\n";
    prev = "%s" + b;
  }
  text += "    %l = weft.reduce \"mean\" " + prev +
          ", dims = [0, 1] : tensor<2048x4096xf32> -> tensor<f32>\n    return %l : tensor<f32>\n  }\n}\n";
  auto m = parse(text);
  ASSERT_TRUE(m) << allDiagnostics() << text;
  PlannerOptions o;
  FailureOr<PlanResult> r = planTp8(*m, o);
  ASSERT_TRUE(succeeded(r)) << allDiagnostics();
  ASSERT_FALSE(r->top.empty());
  EXPECT_EQ(r->top[0].ilpSegments, 3);
  EXPECT_EQ(r->ilpSolves, 2);
  int solvedFor = 0, reused = 0;
  for (const IlpOpChoice &c : r->ilpChoices)
    (c.sameAs < 0 ? solvedFor : reused)++;
  EXPECT_EQ(solvedFor, 2); // layer 0's matmul and softmax
  EXPECT_EQ(reused, 4);    // layers 1 and 2 take layer 0's choices
}

} // namespace

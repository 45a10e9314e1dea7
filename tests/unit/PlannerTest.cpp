// The planner's formulas against numbers worked out by hand, the cluster
// spec parser's errors, and the search on small generated models: the plan a
// brute force finds, the plan forced by memory or by free links, determinism,
// and the smallest device count when nothing fits.
#include "TestUtil.h"

#include "compiler/cost/Cluster.h"
#include "compiler/cost/CostModel.h"
#include "compiler/planner/Planner.h"
#include "frontends/models/Generators.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr double GiB = 1024.0 * 1024 * 1024;

// --- alpha-beta ------------------------------------------------------------

TEST(CostModel, RingAndTreeAllReduce) {
  LinkSpec link{100e9, 5e-6};
  // Ring: 2 (n-1) alpha + 2 (n-1)/n S/beta = 14 x 5 us + 1.75 x 10 ms.
  EXPECT_NEAR(ringAllReduceTime(1e9, 8, link), 7e-5 + 0.0175, 1e-12);
  // Tree: 2 log2(n) alpha + 2 S/beta = 6 x 5 us + 20 ms.
  EXPECT_NEAR(treeAllReduceTime(1e9, 8, link), 3e-5 + 0.02, 1e-12);
  // All-gather: (n-1) alpha + (n-1)/n S/beta.
  EXPECT_NEAR(ringAllGatherTime(1e9, 8, link), 3.5e-5 + 0.00875, 1e-12);
  EXPECT_NEAR(p2pTime(1e6, link), 5e-6 + 1e-5, 1e-15);
  EXPECT_EQ(ringAllReduceTime(1e9, 1, link), 0);
}

ClusterSpec twoLevel() {
  ClusterSpec c;
  c.devicesPerNode = 8;
  c.intraNode = {300e9, 5e-6};
  c.interNode = {25e9, 10e-6};
  return c;
}

TEST(CostModel, AllReducePicksTheFastestAlgorithm) {
  ClusterSpec c = twoLevel();
  // In a node: big buffers go round the ring, small ones down the tree.
  GroupPlacement node{8, 8};
  EXPECT_NEAR(allReduceTime(c, node, 1e9), ringAllReduceTime(1e9, 8, c.intraNode), 1e-15);
  EXPECT_NEAR(allReduceTime(c, node, 1e3), treeAllReduceTime(1e3, 8, c.intraNode), 1e-15);
  // 16 devices, 8 per node, 1 GB: a flat ring on the InfiniBand link takes
  // 30 x 10 us + 1.875 x 40 ms = 75.3 ms; hierarchical takes reduce-scatter
  // and all-gather in the node, 2 x (7 x 5 us + 7/8 x 1e9 / 300e9) = 5.903 ms,
  // plus a 2-node ring all-reduce of the 1/8 share, 2 x 10 us + 1.25e8 /
  // 25e9 = 5.02 ms: 10.923 ms.
  GroupPlacement across{16, 8};
  double inside = 2 * (7 * 5e-6 + 7.0 / 8 * 1e9 / 300e9);
  EXPECT_NEAR(allReduceTime(c, across, 1e9), inside + 2e-5 + 5e-3, 1e-12);
  // One member per node: the ring on the slow link.
  GroupPlacement spread{4, 1};
  EXPECT_NEAR(allReduceTime(c, spread, 1e9), ringAllReduceTime(1e9, 4, c.interNode), 1e-12);
}

TEST(CostModel, MeshAxesOnLinkLevels) {
  ClusterSpec c = twoLevel();
  // tp innermost: tp=8 fills a node; dp=4 then has one member per node.
  EXPECT_FALSE(tpGroup(c, 4, 8, 1).spansNodes());
  GroupPlacement dp = dpGroup(c, 4, 8, 1);
  EXPECT_EQ(dp.perNode, 1);
  EXPECT_TRUE(dp.spansNodes());
  // tp=2, dp=4: the dp group is 4 devices 2 apart, all in one node.
  EXPECT_FALSE(dpGroup(c, 4, 2, 2).spansNodes());
  // tp=2, dp=8: 4 per node over 2 nodes.
  GroupPlacement dp8 = dpGroup(c, 8, 2, 1);
  EXPECT_EQ(dp8.perNode, 4);
  EXPECT_TRUE(dp8.spansNodes());
  // Pipeline neighbours share a node only when the whole mesh does.
  EXPECT_EQ(ppLink(c, 2, 2, 2).bandwidth, 300e9);
  EXPECT_EQ(ppLink(c, 2, 2, 4).bandwidth, 25e9);
}

TEST(CostModel, Roofline) {
  ClusterSpec c = *clusterPreset("a100-80g-8x");
  // Compute-bound GEMM: 1 TFLOP at 312 x 0.7 TFLOP/s.
  EXPECT_NEAR(opTime(c, true, true, 1e12, 1e6), 1e12 / (312e12 * 0.7), 1e-12);
  // Memory-bound elementwise: 1 GB at 2039 x 0.8 GB/s.
  EXPECT_NEAR(opTime(c, true, false, 1e6, 1e9), 1e9 / (2039e9 * 0.8), 1e-12);
  // f32 on the matrix units falls back to the fp32 peak.
  EXPECT_NEAR(opTime(c, false, true, 1e12, 0), 1e12 / (19.5e12 * 0.7), 1e-12);
}

// --- memory ----------------------------------------------------------------

TEST(CostModel, DeviceMemory) {
  // 1e9 parameters in mixed precision with AdamW: 2 + 2 + 12 bytes each,
  // the 12 sharded over dp=4 by ZeRO-1; 3 microbatches of 1 GB in flight.
  MemoryBreakdown m = deviceMemory(1e9, stateBytes(true, true), 4, 1e9, 1e8, 5e8, 3, false);
  EXPECT_DOUBLE_EQ(m.params, 2e9);
  EXPECT_DOUBLE_EQ(m.gradients, 2e9);
  EXPECT_DOUBLE_EQ(m.optimizer, 3e9);
  EXPECT_DOUBLE_EQ(m.activations, 3e9);
  EXPECT_DOUBLE_EQ(m.total(), 10e9);
  // Recompute keeps 3 checkpoints and rebuilds one layer: 3e8 + 5e8.
  EXPECT_DOUBLE_EQ(deviceMemory(1e9, stateBytes(true, true), 4, 1e9, 1e8, 5e8, 3, true).activations,
                   8e8);
  // f32 SGD: weight, gradient, momentum, 4 bytes each, no ZeRO.
  MemoryBreakdown s = deviceMemory(10, stateBytes(false, false), 1, 0, 0, 0, 1, false);
  EXPECT_DOUBLE_EQ(s.total(), 120);
}

TEST(CostModel, InFlightMicrobatches) {
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::kGPipe, 4, 0, 8, 1), 8);
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::k1F1B, 4, 0, 8, 1), 4);
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::k1F1B, 4, 3, 8, 1), 1);
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::k1F1B, 4, 0, 2, 1), 2);
  // Interleaved, P=4, V=2, rank 0: warm-up 2 x 3 + 1 x 4 = 10, so 11 chunks.
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::kInterleaved, 4, 0, 8, 2), 11);
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::kInterleaved, 4, 3, 8, 2), 5);
  EXPECT_EQ(inFlightMicrobatches(ScheduleChoice::kNone, 1, 0, 4, 1), 1);
}

// --- cluster specs -----------------------------------------------------------

const char *kGoodJson = R"({
  "name": "lab",
  "devices_per_node": 4,
  "nodes": 2,
  "device": {"memory_gib": 24, "peak_tflops_bf16": 100, "peak_tflops_fp32": 20,
             "hbm_gb_per_s": 900, "matmul_efficiency": 0.5},
  "links": {"intra_node": {"gb_per_s": 50, "latency_us": 4},
            "inter_node": {"gb_per_s": 12.5, "latency_us": 20}}
})";

TEST(Cluster, ParsesAFile) {
  std::string error;
  auto c = parseClusterJson(kGoodJson, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->name, "lab");
  EXPECT_EQ(c->maxDevices(), 8);
  EXPECT_DOUBLE_EQ(c->device.memoryBytes, 24 * GiB);
  EXPECT_DOUBLE_EQ(c->device.peakBf16, 100e12);
  EXPECT_DOUBLE_EQ(c->device.matmulEfficiency, 0.5);
  EXPECT_DOUBLE_EQ(c->device.memoryEfficiency, 1); // the default
  EXPECT_DOUBLE_EQ(c->interNode.bandwidth, 12.5e9);
  EXPECT_DOUBLE_EQ(c->intraNode.latency, 4e-6);
}

std::string parseError(const std::string &text) {
  std::string error;
  EXPECT_FALSE(parseClusterJson(text, error));
  return error;
}

TEST(Cluster, ErrorsNameTheLocation) {
  EXPECT_EQ(parseError("{\n  \"devices_per_node\": 8,\n  \"device\" {}\n}"),
            "3:12: Expected : after object key");
  std::string typo = kGoodJson;
  typo.replace(typo.find("memory_gib"), 10, "memroy_gib");
  EXPECT_EQ(parseError(typo).substr(0, 52), "at $.device.memroy_gib: unknown key; expected one of");
  std::string negative = kGoodJson;
  negative.replace(negative.find("\"gb_per_s\": 50"), 14, "\"gb_per_s\": -5");
  EXPECT_EQ(parseError(negative), "at $.links.intra_node.gb_per_s: must be positive, got -5.000000");
  std::string fraction = kGoodJson;
  fraction.replace(fraction.find("0.5"), 3, "1.5");
  EXPECT_EQ(parseError(fraction),
            "at $.device.matmul_efficiency: is a fraction, expected a value in (0, 1], got 1.500000");
  EXPECT_EQ(parseError(R"({"devices_per_node": 8, "device": {}, "links": {}})"),
            "at $.device.memory_gib: missing (required)");
  EXPECT_EQ(parseError(R"({"devices_per_node": "8", "device": {}, "links": {}})"),
            "at $.devices_per_node: expected an integer");
  EXPECT_EQ(parseError("[1]"), "at $: expected an object");
}

TEST(Cluster, Presets) {
  for (const char *name : {"h100-sxm-8x", "a100-80g-8x", "cpu-sim-8"}) {
    auto c = clusterPreset(name);
    ASSERT_TRUE(c) << name;
    EXPECT_EQ(c->maxDevices(), 8) << name;
  }
  auto multi = clusterPreset("h100-sxm-8x-ib400-16nodes");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->maxDevices(), 128);
  EXPECT_DOUBLE_EQ(multi->interNode.bandwidth, 50e9);
  EXPECT_TRUE(clusterPreset("a100-80g-8x-ib200-384nodes"));
  EXPECT_FALSE(clusterPreset("a100-80g-8x-ib200-0nodes"));
  EXPECT_FALSE(clusterPreset("h100-sxm-8x-ib400-nodes"));
  std::string error;
  EXPECT_FALSE(loadCluster("tpu-v5", error));
  EXPECT_NE(error.find("not a preset or a .json file; the presets are h100-sxm-8x"),
            std::string::npos);
}

// --- the search ---------------------------------------------------------------

class PlannerSearch : public weft_test::WeftTest {
protected:
  OwningOpRef<ModuleOp> gpt(int64_t layers, int64_t hidden, int64_t batch, int64_t vocab = 128) {
    ModelSpec spec;
    spec.kind = "gpt";
    spec.layers = layers;
    spec.hidden = hidden;
    spec.heads = 8;
    spec.vocab = vocab;
    spec.seq = 32;
    spec.batch = batch;
    std::string error;
    auto m = generateModel(&ctx, spec, error);
    EXPECT_TRUE(succeeded(m)) << error;
    return std::move(*m);
  }

  PlannerOptions options(int64_t devices) {
    PlannerOptions o;
    o.cluster = *clusterPreset("cpu-sim-8");
    o.devices = devices;
    return o;
  }

  std::string json(const PlanResult &r, const PlannerOptions &o) {
    llvm::json::Value v = planToJson(r, o);
    v.getAsObject()->erase("planning_time_s");
    return llvm::formatv("{0}", v).str();
  }
};

// The branch-and-bound keeps what an exhaustive search (every candidate
// simulated: top-K larger than the candidate count) finds first.
TEST_F(PlannerSearch, BranchAndBoundMatchesExhaustive) {
  auto m = gpt(4, 64, 16);
  for (int64_t devices : {2, 4, 8}) {
    PlannerOptions o = options(devices);
    o.topK = 1;
    auto pruned = planPlacement(*m, o);
    o.topK = 100000;
    auto all = planPlacement(*m, o);
    ASSERT_TRUE(succeeded(pruned) && succeeded(all));
    ASSERT_FALSE(all->top.empty());
    EXPECT_EQ(static_cast<int64_t>(all->top.size()), all->evaluated)
        << "every candidate fits and is simulated";
    EXPECT_EQ(pruned->top[0].summary(), all->top[0].summary()) << devices << " devices";
    EXPECT_EQ(pruned->top[0].stepTime, all->top[0].stepTime);
    EXPECT_LT(pruned->simulated, all->simulated) << "the bound prunes";
  }
}

// Free links and compute that only data parallelism divides without
// replicating anything: dp over all devices, with ZeRO-1 (it shards the
// optimizer step's work too), wins.
TEST_F(PlannerSearch, FreeLinksPickPureDataParallel) {
  auto m = gpt(4, 64, 16);
  PlannerOptions o = options(8);
  o.cluster.intraNode = {1e18, 0};
  auto r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(r->top[0].summary(), "dp=8,tp=1,pp=1 zero1");
}

// Memory for less than one replica of the training state: data parallelism
// cannot fit, only splitting the parameters (tp, pp) can; the winner fits.
TEST_F(PlannerSearch, MemoryForcesModelParallelism) {
  auto m = gpt(4, 256, 8, 1024);
  PlannerOptions o = options(8);
  // 4 layers x 12 x 256^2 + 1024 x 256 + 32 x 256 ~ 3.4M parameters, 16
  // bytes each in f32 AdamW: 54 MB a replica. Allow 20 MB a device.
  o.cluster.device.memoryBytes = 20e6;
  o.cluster.device.usableMemory = 1;
  o.perMesh = true;
  auto r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  ASSERT_FALSE(r->top.empty());
  const Plan &p = r->top[0];
  EXPECT_LE(p.peakMemory.total(), 20e6);
  EXPECT_GT(p.tp * p.pp, 1) << p.summary();
  bool sawDp8 = false;
  for (const MeshVerdict &v : r->meshes)
    if (v.dp == 8) {
      sawDp8 = true;
      EXPECT_FALSE(v.best);
      ASSERT_TRUE(v.leanest);
      // Its leanest plan still holds every parameter: 4 + 4 bytes of weight
      // and gradient and 8 / 8 of ZeRO-sharded moments each.
      EXPECT_GE(v.leanest->peakMemory.total(), 9 * r->paramCount);
      EXPECT_EQ(v.reason.substr(0, 30), "out of memory: needs at least ") << v.reason;
    }
  EXPECT_TRUE(sawDp8);
}

TEST_F(PlannerSearch, Deterministic) {
  auto m = gpt(4, 64, 16);
  PlannerOptions o = options(8);
  o.perMesh = true;
  auto a = planPlacement(*m, o), b = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(a) && succeeded(b));
  EXPECT_EQ(json(*a, o), json(*b, o));
}

// Nothing fits: the fewest devices that would, and planning for that many
// then succeeds while one fewer still fails.
TEST_F(PlannerSearch, SmallestDeviceCountThatFits) {
  auto m = gpt(8, 256, 8, 1024);
  PlannerOptions o = options(1);
  o.cluster.nodes = 0;
  o.cluster.device.memoryBytes = 12e6;
  o.cluster.device.usableMemory = 1;
  auto r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  EXPECT_TRUE(r->top.empty());
  ASSERT_GT(r->smallestFitting, 1);
  o.devices = r->smallestFitting;
  auto fits = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(fits));
  EXPECT_FALSE(fits->top.empty());
  if (r->smallestFitting > 2) {
    o.devices = r->smallestFitting - 1;
    // (Or no mesh at all: 11 devices make no mesh for 8 layers, batch 8.)
    auto short1 = planPlacement(*m, o);
    EXPECT_TRUE(failed(short1) || short1->top.empty());
  }
}

// Constraints: --mesh axes, and tp the heads do not divide is no mesh.
TEST_F(PlannerSearch, ConstraintsAndImpossibleMeshes) {
  auto m = gpt(4, 64, 16);
  PlannerOptions o = options(8);
  o.fixTp = 2;
  o.fixPp = 2;
  auto r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(r->top[0].mesh(), "dp=2,tp=2,pp=2");
  // 6 devices: tp=3 and tp=6 do not divide the 8 heads.
  o = options(6);
  r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  for (const Plan &p : r->top)
    EXPECT_TRUE(p.tp == 1 || p.tp == 2) << p.summary();
  bool noted = false;
  for (const std::string &n : r->notes)
    noted |= n.find("tp=3: ") == 0 && n.find("8 heads, not divisible by tp=3") != std::string::npos;
  EXPECT_TRUE(noted);
}

// Megatron's model FLOPs: 3 x (matmuls + attention products) per step, 4 x
// for the layers with recompute. GPT, L=4, h=64, s=32, B=16, V=128:
// 24 B s L h^2 (1 + s / 6h) + 2 B s h V per forward.
TEST_F(PlannerSearch, ModelFlopsAreMegatrons) {
  auto m = gpt(4, 64, 16);
  PlannerOptions o = options(1);
  o.fixRecompute = 0;
  auto r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  double B = 16, s = 32, L = 4, h = 64, V = 128;
  double layers = 24 * B * s * L * h * h * (1 + s / (6 * h)), head = 2 * B * s * h * V;
  EXPECT_NEAR(r->top[0].modelFlops, 3 * (layers + head), 1);
  o.fixRecompute = 1;
  r = planPlacement(*m, o);
  ASSERT_TRUE(succeeded(r));
  EXPECT_NEAR(r->top[0].modelFlops, 4 * layers + 3 * head, 1);
}

} // namespace

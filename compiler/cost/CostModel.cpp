//===- CostModel.cpp -----------------------------------------------------===//
#include "compiler/cost/CostModel.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::weft;

double mlir::weft::matmulPeak(const ClusterSpec &c, bool bf16) {
  return bf16 && c.device.peakBf16 > 0 ? c.device.peakBf16 : c.device.peakFp32;
}

double mlir::weft::matmulRate(const ClusterSpec &c, bool bf16, double flops) {
  const DeviceSpec &d = c.device;
  const bool useBf16 = bf16 && d.peakBf16 > 0;
  const auto &curve = useBf16 ? d.gemmBf16 : d.gemmFp32;
  if (!curve.empty())
    return interpolateGemmRate(curve, flops); // measured: efficiency included
  return matmulPeak(c, bf16) * d.matmulEfficiency;
}

double mlir::weft::opTime(const ClusterSpec &c, bool bf16, bool matmul, double flops,
                          double bytes) {
  const DeviceSpec &d = c.device;
  double peak = matmul ? matmulRate(c, bf16, flops) : d.peakFp32 * d.vectorEfficiency;
  return std::max(flops / peak, bytes / (d.hbmBandwidth * d.memoryEfficiency));
}

double mlir::weft::ringAllReduceTime(double bytes, int64_t n, const LinkSpec &link) {
  if (n <= 1)
    return 0;
  // Reduce-scatter then all-gather: 2 (n - 1) steps of bytes / n each.
  return 2.0 * (n - 1) * link.latency + 2.0 * (n - 1) / n * bytes / link.bandwidth;
}

double mlir::weft::treeAllReduceTime(double bytes, int64_t n, const LinkSpec &link) {
  if (n <= 1)
    return 0;
  // NCCL's double binary tree, pipelined: latency 2 log2(n) hops, and every
  // device sends and receives the whole buffer once up and once down.
  return 2.0 * std::ceil(std::log2(static_cast<double>(n))) * link.latency +
         2.0 * bytes / link.bandwidth;
}

double mlir::weft::ringAllGatherTime(double bytes, int64_t n, const LinkSpec &link) {
  if (n <= 1)
    return 0;
  return (n - 1) * link.latency + static_cast<double>(n - 1) / n * bytes / link.bandwidth;
}

double mlir::weft::p2pTime(double bytes, const LinkSpec &link) {
  return link.latency + bytes / link.bandwidth;
}

GroupPlacement mlir::weft::tpGroup(const ClusterSpec &c, int64_t, int64_t tp, int64_t) {
  return {tp, std::min(tp, c.devicesPerNode)};
}

GroupPlacement mlir::weft::dpGroup(const ClusterSpec &c, int64_t dp, int64_t tp, int64_t) {
  // Members are tp apart: a node holds devicesPerNode / tp of them.
  int64_t perNode = std::max<int64_t>(1, c.devicesPerNode / tp);
  return {dp, std::min(dp, perNode)};
}

const LinkSpec &mlir::weft::ppLink(const ClusterSpec &c, int64_t dp, int64_t tp, int64_t pp) {
  // Neighbouring stages are dp x tp ranks apart; all of them share a node
  // only when the whole mesh does.
  return dp * tp * pp <= c.devicesPerNode ? c.intraNode : c.interNode;
}

// The slowest link a group's ring crosses.
static LinkSpec groupLink(const ClusterSpec &c, const GroupPlacement &g) {
  if (!g.spansNodes())
    return c.intraNode;
  return {std::min(c.intraNode.bandwidth, c.interNode.bandwidth),
          std::max(c.intraNode.latency, c.interNode.latency)};
}

double mlir::weft::allReduceTime(const ClusterSpec &c, const GroupPlacement &g, double bytes) {
  if (g.size <= 1)
    return 0;
  LinkSpec link = groupLink(c, g);
  double best = std::min(ringAllReduceTime(bytes, g.size, link),
                         treeAllReduceTime(bytes, g.size, link));
  if (g.spansNodes() && g.perNode > 1) {
    int64_t nodes = (g.size + g.perNode - 1) / g.perNode;
    double inside = 2 * ringAllGatherTime(bytes, g.perNode, c.intraNode);
    double share = bytes / g.perNode;
    double across = std::min(ringAllReduceTime(share, nodes, c.interNode),
                             treeAllReduceTime(share, nodes, c.interNode));
    best = std::min(best, inside + across);
  }
  return best;
}

double mlir::weft::allGatherTime(const ClusterSpec &c, const GroupPlacement &g, double bytes) {
  return ringAllGatherTime(bytes, g.size, groupLink(c, g));
}

StateBytes mlir::weft::stateBytes(bool bf16, bool adamw) {
  if (bf16) // bf16 weight + bf16 gradient; fp32 master copy + moments
    return {2, 2, adamw ? 12.0 : 8.0};
  return {4, 4, adamw ? 8.0 : 4.0}; // AdamW: m and v; SGD: momentum
}

MemoryBreakdown mlir::weft::deviceMemory(double paramElements, const StateBytes &state,
                                         int64_t zeroDp, double activationBytes,
                                         double checkpointBytes, double workingBytes,
                                         int64_t inFlight, bool recompute) {
  MemoryBreakdown m;
  m.params = paramElements * state.weight;
  m.gradients = paramElements * state.gradient;
  m.optimizer = paramElements * state.optimizer / std::max<int64_t>(zeroDp, 1);
  m.activations = recompute ? checkpointBytes * inFlight + workingBytes
                            : activationBytes * inFlight;
  return m;
}

const char *mlir::weft::scheduleChoiceName(ScheduleChoice s) {
  switch (s) {
  case ScheduleChoice::kNone:
    return "none";
  case ScheduleChoice::kGPipe:
    return "gpipe";
  case ScheduleChoice::k1F1B:
    return "1f1b";
  case ScheduleChoice::kInterleaved:
    return "interleaved";
  }
  return "?";
}

int64_t mlir::weft::inFlightMicrobatches(ScheduleChoice s, int64_t stages, int64_t rank,
                                         int64_t microbatches, int64_t virtualStages) {
  switch (s) {
  case ScheduleChoice::kNone:
    return 1;
  case ScheduleChoice::kGPipe:
    return microbatches;
  case ScheduleChoice::k1F1B:
    return std::min(stages - rank, microbatches);
  case ScheduleChoice::kInterleaved: {
    int64_t warmup = 2 * (stages - rank - 1) + (virtualStages - 1) * stages;
    return std::min(warmup + 1, virtualStages * microbatches);
  }
  }
  return microbatches;
}

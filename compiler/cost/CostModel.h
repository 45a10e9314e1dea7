//===- CostModel.h - time and memory of a placement on a cluster ----------===//
//
// The planner's formulas, kept apart from the search so that tests can check
// them against numbers worked out by hand:
//   - an op's time: a roofline with efficiency, max(FLOPs / (peak x eff),
//     bytes / (HBM x eff));
//   - a collective's time: alpha-beta, ring or tree (whichever is faster), on
//     the link level its group spans, or hierarchical (inside the nodes, then
//     across) when a group spans nodes with several members in each;
//   - which level each mesh axis spans: ranks are numbered with tp innermost,
//     then dp, then pp (rank = (p * dp + d) * tp + t), so a tp group is
//     neighbouring devices (one node when tp <= devices per node);
//   - a device's memory: parameters, gradients, optimizer state (/ dp with
//     ZeRO-1), and activations x in-flight microbatches of its schedule.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_COST_COSTMODEL_H
#define WEFT_COMPILER_COST_COSTMODEL_H

#include "compiler/cost/Cluster.h"

#include <cstdint>

namespace mlir::weft {

/// Roofline time of one kernel. `matmul` picks the matrix units' peak (GEMM,
/// attention), otherwise the vector peak.
double opTime(const ClusterSpec &c, bool bf16, bool matmul, double flops, double bytes);

/// The matrix peak in the compute precision (bf16 where the device has it).
double matmulPeak(const ClusterSpec &c, bool bf16);
/// What a GEMM of `flops` reaches: the calibrated curve of that precision
/// where there is one, else peak x matmul_efficiency.
double matmulRate(const ClusterSpec &c, bool bf16, double flops);

// Alpha-beta times of one collective over `n` devices on one link, for a
// buffer of `bytes` (each device's whole buffer: the all-reduce's input, the
// all-gather's output).
double ringAllReduceTime(double bytes, int64_t n, const LinkSpec &link);
double treeAllReduceTime(double bytes, int64_t n, const LinkSpec &link);
double ringAllGatherTime(double bytes, int64_t n, const LinkSpec &link); // = reduce-scatter
double p2pTime(double bytes, const LinkSpec &link);

/// Where a group of devices sits: `size` members, `perNode` of them in each
/// node (size when the group fits in one node).
struct GroupPlacement {
  int64_t size = 1;
  int64_t perNode = 1;
  bool spansNodes() const { return perNode < size; }
};

/// The groups of a dp x tp x pp mesh on `c` (tp innermost, then dp, then pp).
GroupPlacement tpGroup(const ClusterSpec &c, int64_t dp, int64_t tp, int64_t pp);
GroupPlacement dpGroup(const ClusterSpec &c, int64_t dp, int64_t tp, int64_t pp);
/// The link between neighbouring pipeline stages (the slower one if some
/// neighbours share a node and others do not).
const LinkSpec &ppLink(const ClusterSpec &c, int64_t dp, int64_t tp, int64_t pp);

/// The fastest all-reduce for the group: ring or tree on its link, or, when it
/// spans nodes with several members in each, hierarchical (reduce-scatter in
/// the node, all-reduce of the 1/perNode share across, all-gather in the node).
double allReduceTime(const ClusterSpec &c, const GroupPlacement &g, double bytes);
/// Ring all-gather (or reduce-scatter) over the group, on its slowest link.
double allGatherTime(const ClusterSpec &c, const GroupPlacement &g, double bytes);

/// Bytes per parameter element of the training state.
struct StateBytes {
  double weight = 4, gradient = 4, optimizer = 8;
};
/// Mixed precision (bf16) keeps bf16 weights and gradients and fp32 master
/// weights with the optimizer (ZeRO's 2 + 2 + 12 for Adam); f32 keeps f32.
StateBytes stateBytes(bool bf16, bool adamw);

struct MemoryBreakdown {
  double params = 0, gradients = 0, optimizer = 0, activations = 0;
  double total() const { return params + gradients + optimizer + activations; }
};

/// One device's memory. `paramElements`: the parameters its stage holds
/// (its tp slices); `activationBytes`: what one microbatch's forward keeps for
/// the backward on this device (its whole stage), `inFlight` of them;
/// with recompute only `checkpointBytes` (each layer's input) are kept per
/// microbatch, plus `workingBytes` (one layer's activations, rebuilt for its
/// backward).
MemoryBreakdown deviceMemory(double paramElements, const StateBytes &state, int64_t zeroDp,
                             double activationBytes, double checkpointBytes,
                             double workingBytes, int64_t inFlight, bool recompute);

enum class ScheduleChoice { kNone, kGPipe, k1F1B, kInterleaved };
const char *scheduleChoiceName(ScheduleChoice s);

/// Microbatches (or, interleaved, model chunks x microbatches) whose
/// activations rank `rank` of `stages` holds at its peak: GPipe M, 1F1B
/// min(P - r, M), interleaved min(warm-up + 1, V x M) with Megatron's warm-up
/// 2 (P - r - 1) + (V - 1) P.
int64_t inFlightMicrobatches(ScheduleChoice s, int64_t stages, int64_t rank,
                             int64_t microbatches, int64_t virtualStages);

} // namespace mlir::weft

#endif

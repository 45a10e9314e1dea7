//===- StageCut.h - cutting @forward into pipeline stages ----------------===//
//
// The stage cutter of pipeline parallelism (issue 6): @forward's ops, grouped
// by their `weft.block` tag (one transformer / LSTM layer each), are cut into
// S = P x V contiguous stages at layer boundaries. The ops before block 0
// (embeddings) go to the first stage, those after the last block (final norm,
// head, loss) to the last. The cut balances the cost model's time per stage;
// `--stages=0-3,4-7` overrides it. This is the planning half: outlining the
// stages into functions and the sends and receives come next.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_PIPELINE_STAGECUT_H
#define WEFT_COMPILER_PIPELINE_STAGECUT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::weft {

/// A roofline-ish time per op: max(flops / F, bytes / B). The constants are
/// fixed round numbers (1 TFLOP/s, 100 GB/s: a CPU socket's order of
/// magnitude); only the ratios between stages matter for the cut.
struct StageCostModel {
  double flopsPerSecond = 1e12;
  double bytesPerSecond = 1e11;
  double time(int64_t flops, int64_t bytes) const;
};

struct Stage {
  int64_t firstBlock = 0, lastBlock = 0; // inclusive
  bool prologue = false, epilogue = false; // holds the ops before / after the blocks
  llvm::SmallVector<Operation *> ops;
  int64_t flops = 0, bytes = 0;
  int64_t paramBytes = 0; // the parameters its ops read, each counted once
  int64_t sendBytes = 0;  // activations it passes to later stages (forward)
  double time = 0;        // sum of the ops' StageCostModel times, seconds
};

struct StagePlan {
  int64_t blocks = 0;
  std::vector<Stage> stages;
  double maxTime() const;
  double meanTime() const;
  double imbalance() const { return meanTime() > 0 ? maxTime() / meanTime() : 1; }
};

/// Splits `costs` (one per block) into `stages` contiguous non-empty groups:
/// the minimal maximum group sum (the pipeline's bottleneck), and among the
/// cuts with that maximum the one with the least sum of squares (the most
/// even); on ties still, later stages take more blocks. Returns the first
/// block of each group. Needs 1 <= stages <= costs.size().
std::vector<int64_t> balanceCuts(llvm::ArrayRef<double> costs, int64_t stages);

/// Parses "0-3,4-7" (inclusive ranges; "5" is "5-5") and checks that it is a
/// partition of blocks 0..blocks-1 in order into `stages` ranges. Returns the
/// first block of each range, or fills `error` (the gap, overlap, or block out
/// of range).
std::optional<std::vector<int64_t>> parseManualStages(llvm::StringRef spec, int64_t blocks,
                                                       int64_t stages, std::string &error);

/// Cuts `forward` into `stages` stages: balanced, or by `manual` when not
/// empty. Emits an error at the function (or the misplaced op) and fails on
/// more stages than blocks, a bad manual list, or weft.block tags out of order.
FailureOr<StagePlan> cutStages(func::FuncOp forward, int64_t stages, llvm::StringRef manual = "",
                               const StageCostModel &model = {});

/// Checks that `microbatches` divides dimension 0 (the batch) of every
/// weft.input of `forward`; the error names the input and its batch.
LogicalResult checkMicrobatches(func::FuncOp forward, int64_t microbatches);

/// The plan, one line per stage, and the imbalance.
void printStagePlan(const StagePlan &plan, int64_t ranks, llvm::raw_ostream &os);

} // namespace mlir::weft

#endif

//===- SyncGradientsPass.cpp - weft-sync-gradients -----------------------===//
//
// Data parallelism's one collective: each device differentiated the mean
// loss of its shard of the batch; the average of those gradients is the
// gradient of the global mean (the shards are equal). The loss output is
// averaged too, so every device reports the global loss.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace mlir::weft {
#define GEN_PASS_DEF_SYNCGRADIENTSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct SyncGradientsPass : mlir::weft::impl::SyncGradientsPassBase<SyncGradientsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module.lookupSymbol<shard::GridOp>("mesh"))
      return; // one device: nothing to synchronise
    auto fn = module.lookupSymbol<func::FuncOp>("train_step");
    if (!fn)
      fn = module.lookupSymbol<func::FuncOp>("forward");
    Operation *ret = fn.getBody().front().getTerminator();
    OpBuilder b(ret);
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      const bool grad = static_cast<bool>(fn.getResultAttr(i, "weft.grad"));
      if (!grad && !fn.getResultAttr(i, WeftDialect::kLoss))
        continue;
      if (grad && zero > 0)
        continue; // ZeRO-1: weft-optimizer reduce-scatters it

      Value v = ret->getOperand(i);
      Value avg = shard::AllReduceOp::create(b, v.getLoc(), v, "mesh",
                                             ArrayRef<shard::GridAxis>{0},
                                             shard::ReductionKind::Average);
      ret->setOperand(i, avg);
    }
  }
};

} // namespace

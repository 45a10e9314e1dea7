//===- LowerTpGatherPass.cpp - weft-lower-tp-gather ----------------------===//
//
// weft.tp_gather exists so that weft-autodiff knows its gradient is a
// reduce-scatter; once the step function is built it is just an all-gather.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

namespace mlir::weft {
#define GEN_PASS_DEF_LOWERTPGATHERPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct LowerTpGatherPass : mlir::weft::impl::LowerTpGatherPassBase<LowerTpGatherPass> {
  void runOnOperation() override {
    SmallVector<TpGatherOp> ops;
    getOperation().walk([&](TpGatherOp op) { ops.push_back(op); });
    for (TpGatherOp op : ops) {
      OpBuilder b(op);
      auto axis = static_cast<shard::GridAxis>(op.getGridAxis());
      Value all = shard::AllGatherOp::create(b, op.getLoc(), op.getType(), "mesh",
                                             ArrayRef<shard::GridAxis>{axis}, op.getOperand(),
                                             llvm::APInt(64, op.getDim()));
      op.replaceAllUsesWith(all);
      op.erase();
    }
  }
};

} // namespace

//===- OptimizerSharding.cpp - sgd_update and adamw_update ---------------===//
//
// An update is elementwise over the parameter: param, grad and the optimizer
// state (and every result) share one parallel loop per dimension, so a
// parameter split by tensor parallelism or ZeRO updates its own slice with no
// collective. `step` is 0-d and stays replicated. The gradient must already
// be summed over data parallelism (weft-sync-gradients does that); this op
// only reads it.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;

namespace {

template <typename OpT> struct UpdateModel : LoopShardingModel<UpdateModel<OpT>, OpT> {
  static LoopNest describe(OpT op) {
    LoopNest nest;
    SmallVector<int64_t> dims =
        nest.identity(cast<RankedTensorType>(op.getParam().getType()).getRank());
    for (Value v : op->getOperands())
      nest.tensors.push_back(v == op.getStep() ? SmallVector<int64_t>{} : dims);
    nest.tensors.append(op->getNumResults(), dims);
    return nest;
  }
};

} // namespace

void sharding::attachOptimizerShardingModels(MLIRContext *ctx) {
  SgdUpdateOp::attachInterface<UpdateModel<SgdUpdateOp>>(*ctx);
  AdamwUpdateOp::attachInterface<UpdateModel<AdamwUpdateOp>>(*ctx);
}

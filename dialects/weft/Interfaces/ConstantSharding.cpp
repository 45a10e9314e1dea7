//===- ConstantSharding.cpp - weft.constant ------------------------------===//
//
// A splat constant is the same everywhere, so it takes whatever split its
// users ask for and is rebuilt at the local shape. A non-splat constant would
// need a different slice on every device, which a constant cannot say: it
// stays replicated and the user's resharding cuts its slice out. As for
// arith.constant upstream, a constant with no annotated user has no option.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;

namespace {

bool isSplat(ConstantOp op) {
  auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
  return dense && dense.isSplat();
}

struct ConstantModel : LoopShardingModel<ConstantModel, ConstantOp> {
  static LoopNest describe(ConstantOp op) {
    LoopNest nest;
    nest.tensors = {nest.identity(op.getType().getRank())};
    return nest;
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding>,
                    ArrayRef<shard::Sharding> resultShardings) const {
    shard::Sharding s = resultShardings[0];
    if (!s)
      return failure();
    shard::ShardingArray axes;
    if (isSplat(cast<ConstantOp>(op)))
      for (shard::GridAxesAttr split : s.getSplitAxes())
        axes.push_back(llvm::to_vector(split.asArrayRef()));
    return shard::ShardingOption(axes, s.getGridAttr());
  }

  LogicalResult partition(Operation *op, ArrayRef<Value>, ArrayRef<shard::Sharding>,
                          ArrayRef<shard::Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbols, OpBuilder &builder) const {
    auto cst = cast<ConstantOp>(op);
    shard::Sharding s = resultShardings[0];
    if (!s || shard::isFullReplication(s)) {
      builder.clone(*op, partitionMap);
      return success();
    }
    if (!isSplat(cst))
      return op->emitOpError() << "a non-splat constant cannot be split (each device would need "
                                  "its own slice); annotate it replicated";
    auto type = cast<RankedTensorType>(
        shard::shardType(cst.getType(), shard::getGrid(op, s.getGridAttr(), symbols), s));
    auto value = cast<DenseElementsAttr>(cst.getValue()).resizeSplat(type);
    auto local = ConstantOp::create(builder, op->getLoc(), type, value);
    partitionMap.map(op->getResult(0), local.getResult());
    partitionMap.map(op, local.getOperation());
    return success();
  }
};

} // namespace

void sharding::attachConstantShardingModel(MLIRContext *ctx) {
  ConstantOp::attachInterface<ConstantModel>(*ctx);
}

//===- ShardingInterfaceImpl.cpp -----------------------------------------===//
//
// Elementwise ops take upstream's ElementwiseShardingInterface as they are.
// Matmul is a contraction: loops (batch..., M, N, K) with K a sum reduction.
// Upstream's default partition clones the op with local shapes, which is
// wrong for a contraction whose K is split: each device then holds a
// partial sum. So the model adds the `shard.all_reduce` over the grid axes
// that split K (upstream MLIR 22 has no partial shardings to defer it).
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/ShardingInterfaceImpl.h"
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

struct MatmulShardingModel
    : public shard::ShardingInterface::ExternalModel<MatmulShardingModel, MatmulOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    int64_t rank = cast<MatmulOp>(op).getType().getRank();
    SmallVector<utils::IteratorType> types(rank, utils::IteratorType::parallel);
    types.push_back(utils::IteratorType::reduction); // K
    return types;
  }

  SmallVector<shard::ReductionKind> getReductionLoopIteratorKinds(Operation *) const {
    return {shard::ReductionKind::Sum};
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto mm = cast<MatmulOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t rank = mm.getType().getRank(), batch = rank - 2;
    int64_t numDims = rank + 1;
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    AffineExpr m = d(batch), n = d(batch + 1), k = d(batch + 2);
    SmallVector<AffineExpr> lhs, rhs, out;
    for (int64_t i = 0; i < batch; ++i) {
      lhs.push_back(d(i));
      out.push_back(d(i));
    }
    lhs.append(mm.getTransposeA() ? SmallVector<AffineExpr>{k, m} : SmallVector<AffineExpr>{m, k});
    if (mm.getRhs().getType().getRank() > 2)
      for (int64_t i = 0; i < batch; ++i)
        rhs.push_back(d(i));
    rhs.append(mm.getTransposeB() ? SmallVector<AffineExpr>{n, k} : SmallVector<AffineExpr>{k, n});
    out.append({m, n});
    return {AffineMap::get(numDims, 0, lhs, ctx), AffineMap::get(numDims, 0, rhs, ctx),
            AffineMap::get(numDims, 0, out, ctx)};
  }

  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    shard::partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                                resultShardings, partitionMap, symbolTable,
                                                builder);
    SmallVector<utils::IteratorType> iterators = getLoopIteratorTypes(op);
    SmallVector<AffineMap> maps = getIndexingMaps(op);
    shard::ShardingArray axes = shard::getGridAxisAssignmentForLoopIterators(
        operandShardings, resultShardings, iterators, maps);
    if (!shard::isAtLeastOneReductionIteratorSharded(iterators, axes))
      return success();
    // K is split: every device holds a partial sum of the product.
    SmallVector<shard::GridAxis> reduced = shard::getReductionGridAxes(iterators, axes);
    Value local = partitionMap.lookup(op->getResult(0));
    auto grid = operandShardings[0] ? operandShardings[0].getGridAttr()
                                    : operandShardings[1].getGridAttr();
    Value sum = shard::AllReduceOp::create(builder, op->getLoc(), local, grid.getValue(), reduced,
                                           shard::ReductionKind::Sum);
    partitionMap.map(op->getResult(0), sum);
    return success();
  }
};

template <typename... Ops> void attachElementwise(MLIRContext *ctx) {
  (Ops::template attachInterface<shard::ElementwiseShardingInterface<Ops>>(*ctx), ...);
}

} // namespace

void mlir::weft::registerShardingInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, WeftDialect *) {
    attachElementwise<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp, LogOp,
                      SqrtOp, RsqrtOp, TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp>(ctx);
    MatmulOp::attachInterface<MatmulShardingModel>(*ctx);
  });
}

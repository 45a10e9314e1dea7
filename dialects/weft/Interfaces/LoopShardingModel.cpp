//===- LoopShardingModel.cpp - what every weft sharding model shares -----===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

#include "llvm/ADT/MapVector.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;

SmallVector<utils::IteratorType> sharding::iteratorTypes(const LoopNest &nest) {
  SmallVector<utils::IteratorType> types;
  for (const Loop &l : nest.loops)
    types.push_back(l.type);
  return types;
}

SmallVector<shard::ReductionKind> sharding::reductionKinds(const LoopNest &nest) {
  SmallVector<shard::ReductionKind> kinds;
  for (const Loop &l : nest.loops)
    if (l.type == utils::IteratorType::reduction)
      kinds.push_back(l.kind);
  return kinds;
}

SmallVector<AffineMap> sharding::indexingMaps(const LoopNest &nest, MLIRContext *ctx) {
  SmallVector<AffineMap> maps;
  for (ArrayRef<int64_t> dims : nest.tensors) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d : dims)
      exprs.push_back(getAffineDimExpr(d, ctx));
    maps.push_back(AffineMap::get(nest.loops.size(), 0, exprs, ctx));
  }
  return maps;
}

void sharding::dropUnshardableLoops(const LoopNest &nest, shard::ShardingOption &option) {
  for (auto [i, axes] : llvm::enumerate(option.shardingArray))
    if (i < nest.loops.size() && !nest.loops[i].shardable)
      axes.clear();
  shard::removeTrailingEmptySubArray(option.shardingArray);
}

shard::ShardingArray sharding::loopAxes(const LoopNest &nest,
                                        ArrayRef<shard::Sharding> operandShardings,
                                        ArrayRef<shard::Sharding> resultShardings) {
  shard::ShardingArray axes(nest.loops.size());
  auto read = [&](const shard::Sharding &s, ArrayRef<int64_t> dims) {
    if (!s)
      return;
    for (auto [dim, split] : llvm::zip(dims, s.getSplitAxes()))
      if (axes[dim].empty())
        axes[dim] = llvm::to_vector(split.asArrayRef());
  };
  for (auto [i, s] : llvm::enumerate(operandShardings))
    read(s, nest.tensors[i]);
  for (auto [i, s] : llvm::enumerate(resultShardings))
    read(s, nest.tensors[operandShardings.size() + i]);
  return axes;
}

FlatSymbolRefAttr sharding::gridOf(ArrayRef<shard::Sharding> operandShardings,
                                   ArrayRef<shard::Sharding> resultShardings) {
  for (ArrayRef<shard::Sharding> list : {operandShardings, resultShardings})
    for (const shard::Sharding &s : list)
      if (s && s.getGridAttr())
        return s.getGridAttr();
  return {};
}

Operation *sharding::cloneLocal(Operation *op, ArrayRef<shard::Sharding> resultShardings,
                                IRMapping &partitionMap, SymbolTableCollection &symbols,
                                OpBuilder &builder) {
  Operation *local = builder.clone(*op, partitionMap);
  for (auto [result, s] : llvm::zip_equal(local->getResults(), resultShardings)) {
    auto type = dyn_cast<RankedTensorType>(result.getType());
    // 0-d results (a loss) have nothing to split.
    if (!s || !type || type.getRank() == 0)
      continue;
    result.setType(shard::shardType(type, shard::getGrid(op, s.getGridAttr(), symbols), s));
  }
  return local;
}

LogicalResult sharding::partitionLoopNest(Operation *op, const LoopNest &nest,
                                          ArrayRef<shard::Sharding> operandShardings,
                                          ArrayRef<shard::Sharding> resultShardings,
                                          IRMapping &partitionMap, SymbolTableCollection &symbols,
                                          OpBuilder &builder) {
  shard::ShardingArray axes = loopAxes(nest, operandShardings, resultShardings);
  // sharding-propagation never splits these; a hand-written annotation may.
  for (auto [i, loop] : llvm::enumerate(nest.loops))
    if (!loop.shardable && !axes[i].empty())
      return op->emitOpError() << "cannot be split along loop " << i
                               << " (e.g. a softmax or norm axis): the local op would compute "
                                  "wrong values; replicate that dimension";
  cloneLocal(op, resultShardings, partitionMap, symbols, builder);
  FlatSymbolRefAttr grid = gridOf(operandShardings, resultShardings);
  if (!grid)
    return success();
  size_t numOperands = op->getNumOperands();
  for (OpResult result : op->getResults()) {
    ArrayRef<int64_t> indexed = nest.tensors[numOperands + result.getResultNumber()];
    // A reduction loop split over some grid axes and not indexed by this
    // result: each device holds a partial value, combined by one all-reduce
    // per reduction kind.
    llvm::MapVector<shard::ReductionKind, SmallVector<shard::GridAxis>> partial;
    for (auto [i, loop] : llvm::enumerate(nest.loops)) {
      if (loop.type != utils::IteratorType::reduction || axes[i].empty() ||
          llvm::is_contained(indexed, static_cast<int64_t>(i)))
        continue;
      if (loop.kind == shard::ReductionKind::Generic)
        return op->emitOpError() << "loop " << i
                                 << " has no all-reduce that combines its shards; it must not be "
                                    "split";
      llvm::append_range(partial[loop.kind], axes[i]);
    }
    Value local = partitionMap.lookup(result);
    for (auto &[kind, gridAxes] : partial) {
      llvm::sort(gridAxes);
      local = shard::AllReduceOp::create(builder, op->getLoc(), local, grid.getValue(), gridAxes,
                                         kind);
    }
    partitionMap.map(result, local);
  }
  return success();
}

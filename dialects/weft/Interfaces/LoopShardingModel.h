//===- LoopShardingModel.h - one loop nest per weft op, for shard --------===//
//
// Every weft op is described to upstream's ShardingInterface as a loop nest:
// one loop per independent index, each parallel or a reduction of some kind,
// and for each operand and result the loop behind each of its dimensions.
// Three things are added on top of upstream's defaults:
//  - a loop can be *unshardable* (softmax's axis, a reshape's merged dims):
//    getShardingOption drops any split of it, so sharding-propagation annotates
//    that dimension replicated and shard-partition gathers it before the op
//    (upstream's defaults would shard it and compute wrong values);
//  - partition all-reduces every result that does not index a split reduction
//    loop, with the loop's ReductionKind: that result is a partial value;
//  - 0-d operands (a step, a loss seed) are replicated and keep their type.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_DIALECTS_WEFT_INTERFACES_LOOPSHARDINGMODEL_H
#define WEFT_DIALECTS_WEFT_INTERFACES_LOOPSHARDINGMODEL_H

#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::weft::sharding {

struct Loop {
  utils::IteratorType type = utils::IteratorType::parallel;
  shard::ReductionKind kind = shard::ReductionKind::Sum; // reductions only
  bool shardable = true;
};

/// The loop nest of one op: `tensors` holds, for each operand then each
/// result, the loop index behind each of its dimensions (empty for 0-d).
struct LoopNest {
  SmallVector<Loop> loops;
  SmallVector<SmallVector<int64_t>> tensors;

  int64_t add(Loop l = {}) {
    loops.push_back(l);
    return static_cast<int64_t>(loops.size()) - 1;
  }
  int64_t parallel(bool shardable = true) {
    return add({utils::IteratorType::parallel, shard::ReductionKind::Sum, shardable});
  }
  int64_t reduction(shard::ReductionKind kind, bool shardable = true) {
    return add({utils::IteratorType::reduction, kind, shardable});
  }
  /// One parallel loop per dimension of a rank-`rank` tensor: its identity map.
  SmallVector<int64_t> identity(int64_t rank) {
    SmallVector<int64_t> dims;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(parallel());
    return dims;
  }
};

// Helpers shared by the families (LoopShardingModel.cpp).
SmallVector<utils::IteratorType> iteratorTypes(const LoopNest &nest);
SmallVector<shard::ReductionKind> reductionKinds(const LoopNest &nest);
SmallVector<AffineMap> indexingMaps(const LoopNest &nest, MLIRContext *ctx);
void dropUnshardableLoops(const LoopNest &nest, shard::ShardingOption &option);
/// The grid axes split each loop, read off the operand and result shardings.
shard::ShardingArray loopAxes(const LoopNest &nest, ArrayRef<shard::Sharding> operandShardings,
                              ArrayRef<shard::Sharding> resultShardings);
FlatSymbolRefAttr gridOf(ArrayRef<shard::Sharding> operandShardings,
                         ArrayRef<shard::Sharding> resultShardings);
/// Clones `op` on the partitioned operands and gives each ranked result its
/// local (sharded) type.
Operation *cloneLocal(Operation *op, ArrayRef<shard::Sharding> resultShardings,
                      IRMapping &partitionMap, SymbolTableCollection &symbols,
                      OpBuilder &builder);
/// The default partition: local clone, then an all-reduce of each result over
/// the grid axes of the split reduction loops it does not index.
LogicalResult partitionLoopNest(Operation *op, const LoopNest &nest,
                                ArrayRef<shard::Sharding> operandShardings,
                                ArrayRef<shard::Sharding> resultShardings,
                                IRMapping &partitionMap, SymbolTableCollection &symbols,
                                OpBuilder &builder);

/// The external model of an op whose `describe` gives its loop nest:
/// `static LoopNest describe(OpT)`. A family may hide `partition`.
template <typename Derived, typename OpT>
struct LoopShardingModel : public shard::ShardingInterface::ExternalModel<Derived, OpT> {
  static LoopNest nest(Operation *op) { return Derived::describe(cast<OpT>(op)); }

  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return iteratorTypes(nest(op));
  }
  SmallVector<shard::ReductionKind> getReductionLoopIteratorKinds(Operation *op) const {
    return reductionKinds(nest(op));
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    return indexingMaps(nest(op), op->getContext());
  }
  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    FailureOr<shard::ShardingOption> option =
        shard::detail::defaultGetShardingOption(op, operandShardings, resultShardings);
    if (succeeded(option) && !option->empty)
      dropUnshardableLoops(nest(op), *option);
    return option;
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbols, OpBuilder &builder) const {
    return partitionLoopNest(op, nest(op), operandShardings, resultShardings, partitionMap,
                             symbols, builder);
  }
};

// One attach function per family of ops (one file each).
void attachElementwiseShardingModels(MLIRContext *ctx);
void attachContractionShardingModels(MLIRContext *ctx);
void attachReductionShardingModels(MLIRContext *ctx);
void attachLayoutShardingModels(MLIRContext *ctx);
void attachOptimizerShardingModels(MLIRContext *ctx);
void attachConstantShardingModel(MLIRContext *ctx);

} // namespace mlir::weft::sharding

#endif

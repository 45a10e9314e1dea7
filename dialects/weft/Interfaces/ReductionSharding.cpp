//===- ReductionSharding.cpp - reduce, softmax, norms, cross-entropy -----===//
//
// reduce: its dims are reductions of its kind (sum -> Sum, max -> Max,
// mean -> Average: equal shards make the mean of the shards' means the mean);
// a split one leaves a partial result that partition all-reduces. The size-1
// dimensions keep_dims leaves get loops of their own that never split.
//
// softmax, layer_norm, rms_norm and their gradients normalise over one axis:
// a device holding a slice of it would normalise the slice, so that axis is
// an unshardable reduction (ReductionKind generic, as upstream's interface
// describes softmax). The rows split freely and stay local. In the norm
// gradients the rows are sum reductions of dgamma (and dbeta): a row split
// leaves them partial and partition all-reduces them, while dx stays local.
//
// cross_entropy: a mean over the rows (Average: each device's local mean over
// an equal share of rows, averaged) of a log-softmax over the classes
// (unshardable). cross_entropy_grad divides by the number of rows, which the
// local op takes to be its local count: partition rescales by 1/(devices the
// rows are split over).
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;
using shard::ReductionKind;

namespace {

int64_t normalise(int64_t dim, int64_t rank) { return dim < 0 ? dim + rank : dim; }

struct ReduceModel : LoopShardingModel<ReduceModel, ReduceOp> {
  static LoopNest describe(ReduceOp op) {
    LoopNest nest;
    auto type = cast<RankedTensorType>(op.getOperand().getType());
    int64_t rank = type.getRank();
    ReductionKind kind = llvm::StringSwitch<ReductionKind>(op.getKind())
                             .Case("sum", ReductionKind::Sum)
                             .Case("max", ReductionKind::Max)
                             .Case("mean", ReductionKind::Average)
                             .Default(ReductionKind::Generic);
    SmallVector<bool> reduced(rank, false);
    for (int64_t d : op.getDims())
      reduced[normalise(d, rank)] = true;
    SmallVector<int64_t> in, out;
    for (int64_t d = 0; d < rank; ++d) {
      in.push_back(reduced[d] ? nest.reduction(kind) : nest.parallel());
      if (!reduced[d])
        out.push_back(in.back());
      else if (op.getKeepDims())
        out.push_back(nest.parallel(/*shardable=*/false));
    }
    nest.tensors = {in, out};
    return nest;
  }
};

// Loops of a tensor normalised over `axis`: the others parallel (or, for a
// gradient's parameter sums, `rowKind` reductions), `axis` unshardable.
SmallVector<int64_t> normalised(LoopNest &nest, int64_t rank, int64_t axis,
                                std::optional<ReductionKind> rowKind = std::nullopt) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis)
      dims.push_back(nest.reduction(ReductionKind::Generic, /*shardable=*/false));
    else
      dims.push_back(rowKind ? nest.reduction(*rowKind) : nest.parallel());
  }
  return dims;
}

int64_t rankOf(Value v) { return cast<RankedTensorType>(v.getType()).getRank(); }

struct SoftmaxModel : LoopShardingModel<SoftmaxModel, SoftmaxOp> {
  static LoopNest describe(SoftmaxOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getOperand());
    SmallVector<int64_t> x =
        normalised(nest, rank, normalise(static_cast<int64_t>(op.getDim()), rank));
    nest.tensors = {x, x};
    return nest;
  }
};

struct SoftmaxGradModel : LoopShardingModel<SoftmaxGradModel, SoftmaxGradOp> {
  static LoopNest describe(SoftmaxGradOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getY());
    SmallVector<int64_t> x =
        normalised(nest, rank, normalise(static_cast<int64_t>(op.getDim()), rank));
    nest.tensors = {x, x, x};
    return nest;
  }
};

struct LayerNormModel : LoopShardingModel<LayerNormModel, LayerNormOp> {
  static LoopNest describe(LayerNormOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getX());
    SmallVector<int64_t> x = normalised(nest, rank, rank - 1);
    SmallVector<int64_t> row{x.back()};
    nest.tensors = {x, row, row, x};
    return nest;
  }
};

struct RmsNormModel : LoopShardingModel<RmsNormModel, RmsNormOp> {
  static LoopNest describe(RmsNormOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getX());
    SmallVector<int64_t> x = normalised(nest, rank, rank - 1);
    SmallVector<int64_t> row{x.back()};
    nest.tensors = {x, row, x};
    return nest;
  }
};

struct LayerNormGradModel : LoopShardingModel<LayerNormGradModel, LayerNormGradOp> {
  static LoopNest describe(LayerNormGradOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getX());
    SmallVector<int64_t> x = normalised(nest, rank, rank - 1, ReductionKind::Sum);
    SmallVector<int64_t> row{x.back()};
    // x, gamma, dy -> dx, dgamma, dbeta
    nest.tensors = {x, row, x, x, row, row};
    return nest;
  }
};

struct RmsNormGradModel : LoopShardingModel<RmsNormGradModel, RmsNormGradOp> {
  static LoopNest describe(RmsNormGradOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getX());
    SmallVector<int64_t> x = normalised(nest, rank, rank - 1, ReductionKind::Sum);
    SmallVector<int64_t> row{x.back()};
    // x, gamma, dy -> dx, dgamma
    nest.tensors = {x, row, x, x, row};
    return nest;
  }
};

struct CrossEntropyModel : LoopShardingModel<CrossEntropyModel, CrossEntropyOp> {
  static LoopNest describe(CrossEntropyOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getLogits());
    SmallVector<int64_t> logits = normalised(nest, rank, rank - 1, ReductionKind::Average);
    SmallVector<int64_t> labels(logits.begin(), logits.end() - 1);
    nest.tensors = {logits, labels, {}};
    return nest;
  }
};

struct CrossEntropyGradModel : LoopShardingModel<CrossEntropyGradModel, CrossEntropyGradOp> {
  static LoopNest describe(CrossEntropyGradOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getLogits());
    SmallVector<int64_t> logits = normalised(nest, rank, rank - 1);
    SmallVector<int64_t> labels(logits.begin(), logits.end() - 1);
    // logits, labels, dloss (0-d, replicated) -> dlogits
    nest.tensors = {logits, labels, {}, logits};
    return nest;
  }

  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbols, OpBuilder &builder) const {
    LoopNest n = nest(op);
    if (failed(partitionLoopNest(op, n, operandShardings, resultShardings, partitionMap, symbols,
                                 builder)))
      return failure();
    shard::ShardingArray axes = loopAxes(n, operandShardings, resultShardings);
    SmallVector<shard::GridAxis> rowAxes;
    for (auto &split : ArrayRef(axes).drop_back())
      llvm::append_range(rowAxes, split);
    FlatSymbolRefAttr grid = gridOf(operandShardings, resultShardings);
    if (rowAxes.empty() || !grid)
      return success();
    // The local op divided by its own rows, 1/devices of the global count.
    int64_t devices =
        shard::collectiveProcessGroupSize(rowAxes, shard::getGrid(op, grid, symbols));
    Value local = partitionMap.lookup(op->getResult(0));
    Value scaled = ScaleOp::create(builder, op->getLoc(), local.getType(), local,
                                   builder.getF32FloatAttr(1.0f / static_cast<float>(devices)));
    partitionMap.map(op->getResult(0), scaled);
    return success();
  }
};

// Already a vocabulary shard (weft-partition-tensor): rows split freely; the
// classes and the two statistics stay whole on each device.
struct VocabShardStatsModel : LoopShardingModel<VocabShardStatsModel, VocabShardStatsOp> {
  static LoopNest describe(VocabShardStatsOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getLogits());
    SmallVector<int64_t> logits = normalised(nest, rank, rank - 1);
    SmallVector<int64_t> rows(logits.begin(), logits.end() - 1), stats(rows);
    stats.push_back(nest.parallel(/*shardable=*/false));
    nest.tensors = {logits, rows, rows, stats};
    return nest;
  }
};

struct VocabShardStatsGradModel
    : LoopShardingModel<VocabShardStatsGradModel, VocabShardStatsGradOp> {
  static LoopNest describe(VocabShardStatsGradOp op) {
    LoopNest nest;
    int64_t rank = rankOf(op.getLogits());
    SmallVector<int64_t> logits = normalised(nest, rank, rank - 1);
    SmallVector<int64_t> rows(logits.begin(), logits.end() - 1), stats(rows);
    stats.push_back(nest.reduction(ReductionKind::Sum, /*shardable=*/false));
    // logits, labels, max, dstats -> dlogits
    nest.tensors = {logits, rows, rows, stats, logits};
    return nest;
  }
};

} // namespace

void sharding::attachReductionShardingModels(MLIRContext *ctx) {
  ReduceOp::attachInterface<ReduceModel>(*ctx);
  SoftmaxOp::attachInterface<SoftmaxModel>(*ctx);
  SoftmaxGradOp::attachInterface<SoftmaxGradModel>(*ctx);
  LayerNormOp::attachInterface<LayerNormModel>(*ctx);
  RmsNormOp::attachInterface<RmsNormModel>(*ctx);
  LayerNormGradOp::attachInterface<LayerNormGradModel>(*ctx);
  RmsNormGradOp::attachInterface<RmsNormGradModel>(*ctx);
  CrossEntropyOp::attachInterface<CrossEntropyModel>(*ctx);
  CrossEntropyGradOp::attachInterface<CrossEntropyGradModel>(*ctx);
  VocabShardStatsOp::attachInterface<VocabShardStatsModel>(*ctx);
  VocabShardStatsGradOp::attachInterface<VocabShardStatsGradModel>(*ctx);
}

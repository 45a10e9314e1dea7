//===- LayoutSharding.cpp - data movement: broadcast, reshape, gather... -===//
//
// broadcast_in_dim: a loop per result dimension; operand dim i rides on the
// loop of result dim dims[i], except a size-1 operand dim that expands, which
// gets its own loop that never splits (the operand stays whole there, and the
// result may still split along the expanded dimension).
// transpose: the operand's loops, permuted for the result.
// slice, pad, concat: a dimension they cut, pad or join would need offsets the
// local op does not know, so it does not split; the others split freely.
// reshape: the dimensions fall into groups of equal element count (row-major).
// Within a group, a block split of its first non-unit dimension on one side is
// a block split of the first non-unit one on the other, so those two share a
// loop; every other dimension of a merged or split group does not split.
// embedding: loops (ids..., D, V); V is gathered from, and a vocab-parallel
// split would need the ids masked by the local range, so V does not split.
// embedding_grad: the rows (ids' dims) are sum reductions (a row split leaves
// a partial table gradient, all-reduced); the result's V does not split.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;
using shard::ReductionKind;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

struct BroadcastInDimModel : LoopShardingModel<BroadcastInDimModel, BroadcastInDimOp> {
  static LoopNest describe(BroadcastInDimOp op) {
    LoopNest nest;
    ArrayRef<int64_t> in = shapeOf(op.getOperand()), out = shapeOf(op.getResult());
    SmallVector<int64_t> result = nest.identity(out.size()), operand;
    for (auto [i, d] : llvm::enumerate(op.getDims()))
      operand.push_back(in[i] == out[d] ? result[d] : nest.parallel(/*shardable=*/false));
    nest.tensors = {operand, result};
    return nest;
  }
};

struct TransposeModel : LoopShardingModel<TransposeModel, TransposeOp> {
  static LoopNest describe(TransposeOp op) {
    LoopNest nest;
    SmallVector<int64_t> operand = nest.identity(shapeOf(op.getOperand()).size()), result;
    for (int64_t p : op.getPerm())
      result.push_back(operand[p]);
    nest.tensors = {operand, result};
    return nest;
  }
};

// One loop per dimension, all tensors indexed alike; `keep[d]` says whether
// dimension d may split.
LoopNest sameShape(ArrayRef<bool> keep, size_t numTensors) {
  LoopNest nest;
  SmallVector<int64_t> dims;
  for (bool k : keep)
    dims.push_back(nest.parallel(k));
  nest.tensors.assign(numTensors, dims);
  return nest;
}

struct SliceModel : LoopShardingModel<SliceModel, SliceOp> {
  static LoopNest describe(SliceOp op) {
    ArrayRef<int64_t> in = shapeOf(op.getOperand());
    SmallVector<bool> keep;
    for (auto [d, size] : llvm::enumerate(in))
      keep.push_back(op.getStart()[d] == 0 && op.getLimit()[d] == size);
    return sameShape(keep, 2);
  }
};

struct PadModel : LoopShardingModel<PadModel, PadOp> {
  static LoopNest describe(PadOp op) {
    SmallVector<bool> keep;
    for (auto [lo, hi] : llvm::zip_equal(op.getLow(), op.getHigh()))
      keep.push_back(lo == 0 && hi == 0);
    return sameShape(keep, 2);
  }
};

struct ConcatModel : LoopShardingModel<ConcatModel, ConcatOp> {
  static LoopNest describe(ConcatOp op) {
    int64_t rank = shapeOf(op.getResult()).size();
    int64_t dim = static_cast<int64_t>(op.getDim());
    if (dim < 0)
      dim += rank;
    SmallVector<bool> keep(rank, true);
    keep[dim] = false;
    return sameShape(keep, op.getInputs().size() + 1);
  }
};

struct ReshapeModel : LoopShardingModel<ReshapeModel, ReshapeOp> {
  static LoopNest describe(ReshapeOp op) {
    LoopNest nest;
    ArrayRef<int64_t> in = shapeOf(op.getOperand()), out = shapeOf(op.getResult());
    SmallVector<int64_t> operand, result;
    for (size_t i = 0; i < in.size(); ++i)
      operand.push_back(nest.parallel(/*shardable=*/false));
    for (size_t j = 0; j < out.size(); ++j)
      result.push_back(nest.parallel(/*shardable=*/false));
    // Walk both shapes a group at a time; in each group the first non-unit
    // dimensions share the operand's loop, which may then split.
    size_t i = 0, j = 0;
    while (i < in.size() && j < out.size()) {
      size_t gi = i, gj = j;
      int64_t a = in[i++], b = out[j++];
      while (a != b) {
        if (a < b && i < in.size())
          a *= in[i++];
        else if (b < a && j < out.size())
          b *= out[j++];
        else
          break;
      }
      while (gi < i && in[gi] == 1)
        ++gi;
      while (gj < j && out[gj] == 1)
        ++gj;
      if (gi < i && gj < j) {
        nest.loops[operand[gi]].shardable = true;
        result[gj] = operand[gi];
      }
    }
    nest.tensors = {operand, result};
    return nest;
  }
};

struct EmbeddingModel : LoopShardingModel<EmbeddingModel, EmbeddingOp> {
  static LoopNest describe(EmbeddingOp op) {
    LoopNest nest;
    SmallVector<int64_t> ids = nest.identity(shapeOf(op.getIds()).size());
    int64_t d = nest.parallel();
    int64_t v = nest.reduction(ReductionKind::Sum, /*shardable=*/false);
    SmallVector<int64_t> out(ids);
    out.push_back(d);
    nest.tensors = {{v, d}, ids, out};
    return nest;
  }
};

struct EmbeddingGradModel : LoopShardingModel<EmbeddingGradModel, EmbeddingGradOp> {
  static LoopNest describe(EmbeddingGradOp op) {
    LoopNest nest;
    SmallVector<int64_t> ids;
    for (size_t i = 0; i < shapeOf(op.getIds()).size(); ++i)
      ids.push_back(nest.reduction(ReductionKind::Sum));
    int64_t d = nest.parallel();
    int64_t v = nest.parallel(/*shardable=*/false);
    SmallVector<int64_t> dy(ids);
    dy.push_back(d);
    nest.tensors = {ids, dy, {v, d}};
    return nest;
  }
};

} // namespace

void sharding::attachLayoutShardingModels(MLIRContext *ctx) {
  BroadcastInDimOp::attachInterface<BroadcastInDimModel>(*ctx);
  TransposeOp::attachInterface<TransposeModel>(*ctx);
  SliceOp::attachInterface<SliceModel>(*ctx);
  PadOp::attachInterface<PadModel>(*ctx);
  ConcatOp::attachInterface<ConcatModel>(*ctx);
  ReshapeOp::attachInterface<ReshapeModel>(*ctx);
  EmbeddingOp::attachInterface<EmbeddingModel>(*ctx);
  EmbeddingGradOp::attachInterface<EmbeddingGradModel>(*ctx);
}

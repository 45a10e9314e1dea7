//===- TensorSplit.h - shared steps of the tensor-parallel rewrites ------===//
//
// weft-partition-tensor's patterns (Megatron blocks in
// PartitionTensorPass.cpp, the vocabulary in VocabParallel.cpp) change
// shapes in place: a parameter becomes its tp-th slice, a value its local
// part. These are the steps they share.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_PARTITION_TENSORSPLIT_H
#define WEFT_PASSES_PARTITION_TENSORSPLIT_H

#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"

namespace mlir::weft {

inline RankedTensorType tensorTypeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// `v` as a parameter of `fn` (a block argument marked weft.param), or null.
inline BlockArgument paramOf(func::FuncOp fn, Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &fn.front() ||
      !fn.getArgAttr(arg.getArgNumber(), WeftDialect::kParam))
    return {};
  return arg;
}

struct TensorSplit {
  mutable func::FuncOp fn; // an op handle: const-ness of the handle is not of the op
  int64_t tp;
  int64_t axis; // of @mesh

  /// A parameter of @forward becomes this device's slice of dimension `dim`;
  /// its global shape and split dimension are recorded for init and save.
  /// With `groups` > 1 the dimension is viewed as [groups, n / groups] and
  /// the inner one is split: each device holds its part of every group (an
  /// LSTM's four gates), recorded as `weft.split_groups`.
  void splitParam(BlockArgument arg, int64_t dim, int64_t groups = 1) const {
    Builder b(fn.getContext());
    auto t = tensorTypeOf(arg);
    fn.setArgAttr(arg.getArgNumber(), "weft.global_shape", b.getDenseI64ArrayAttr(t.getShape()));
    fn.setArgAttr(arg.getArgNumber(), "weft.split_dim", b.getI64IntegerAttr(dim));
    if (groups > 1)
      fn.setArgAttr(arg.getArgNumber(), "weft.split_groups", b.getI64IntegerAttr(groups));
    arg.setType(localType(t, dim));
  }
  /// Dimension `dim` of a value becomes its tp-th part.
  void shrink(Value v, int64_t dim) const { v.setType(localType(tensorTypeOf(v), dim)); }
  RankedTensorType localType(RankedTensorType t, int64_t dim) const {
    SmallVector<int64_t> shape(t.getShape());
    shape[dim] /= tp;
    return RankedTensorType::get(shape, t.getElementType());
  }
  /// The sum (or max) of `v` over the tp devices.
  Value allReduce(OpBuilder &b, Location loc, Value v,
                  shard::ReductionKind kind = shard::ReductionKind::Sum) const {
    return shard::AllReduceOp::create(b, loc, v, "mesh",
                                      ArrayRef<shard::GridAxis>{static_cast<shard::GridAxis>(axis)},
                                      kind);
  }
};

/// Megatron's vocabulary-parallel embedding, LM head and cross-entropy
/// (VocabParallel.cpp). Checks everything before changing anything; returns
/// failure with an error at the op when tp does not divide a vocabulary.
/// `found` says whether it split anything.
LogicalResult splitVocabulary(const TensorSplit &split, bool &found);

/// The hidden-unit split of stacked LSTM cells (LstmParallel.cpp): each
/// device owns H/tp units of every gate, and `weft.tp_gather` rebuilds h for
/// the matmuls that read it. A pattern that does not match stays replicated;
/// a matching cell whose H tp does not divide is an error naming the
/// parameter. `found` says whether it split anything.
LogicalResult splitLstm(const TensorSplit &split, bool &found);

/// After every split: each `weft.tp_gather` must feed (through reshapes,
/// slices and concats) only matmuls by column-split parameters, whose input
/// gradients are partial sums; anything else would make its reduce-scatter
/// count the gradient tp times. An error on the offending op otherwise.
LogicalResult checkGatheredUses(const TensorSplit &split);

} // namespace mlir::weft

#endif

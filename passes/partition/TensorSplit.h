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

struct TensorSplit {
  mutable func::FuncOp fn; // an op handle: const-ness of the handle is not of the op
  int64_t tp;
  int64_t axis; // of @mesh

  /// A parameter of @forward becomes this device's slice of dimension `dim`;
  /// its global shape and split dimension are recorded for init and save.
  void splitParam(BlockArgument arg, int64_t dim) const {
    Builder b(fn.getContext());
    auto t = tensorTypeOf(arg);
    fn.setArgAttr(arg.getArgNumber(), "weft.global_shape", b.getDenseI64ArrayAttr(t.getShape()));
    fn.setArgAttr(arg.getArgNumber(), "weft.split_dim", b.getI64IntegerAttr(dim));
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

} // namespace mlir::weft

#endif

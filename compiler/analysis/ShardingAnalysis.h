//===- ShardingAnalysis.h - how each value is split, and why -------------===//
//
// Read-only analysis of a partitioned function (@forward after
// weft-partition-batch / weft-partition-tensor, or the lowered @train_step):
// for every value, its sharding on each mesh axis (replicated, split along a
// dimension, or a partial sum pending an all-reduce) and the reason. It is
// inferred from the IR alone, so the passes need not record anything: the
// arguments' attributes (weft.input, weft.param, weft.split_dim,
// weft.global_shape), the module's weft.mesh, and one rule per op kind.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_ANALYSIS_SHARDINGANALYSIS_H
#define WEFT_COMPILER_ANALYSIS_SHARDINGANALYSIS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace mlir::weft {

/// A value's layout on one mesh axis.
struct AxisSharding {
  enum Kind { Replicated, Split, Partial, Unknown } kind = Replicated;
  int64_t dim = -1; // Split: the tensor dimension divided over the axis
  bool operator==(const AxisSharding &o) const { return kind == o.kind && dim == o.dim; }
};

/// Why a value has its sharding on one axis.
struct ShardingReason {
  enum Kind { Default, Megatron, Annotation, Propagated, Collective } kind = Default;
  std::string detail; // e.g. "MLP: first matmul split by column"
  int operand = -1;   // Propagated: the operand it came from (-1: several)
  Value from;         // Propagated: that operand's value
  // Propagated backwards: the user it came from (`from` is its result and
  // `operand` the use).
  Operation *user = nullptr;
};

struct ValueSharding {
  SmallVector<AxisSharding> axes; // one per mesh axis, in the grid's order
  SmallVector<ShardingReason> why;
};

class ShardingAnalysis {
public:
  /// Analyses `fn`; the mesh comes from its module's weft.mesh.
  explicit ShardingAnalysis(func::FuncOp fn);

  ArrayRef<std::string> axisNames() const { return axes; }
  /// Null for values outside the function.
  const ValueSharding *lookup(Value v) const;
  /// "replicated", "[dp:0, tp:2]", "[dp:0, partial(tp)]"; "?" marks an axis
  /// the rules could not decide.
  std::string label(Value v) const;
  /// One line per axis worth explaining: "tp: megatron: ...".
  SmallVector<std::string> reasons(Value v) const;
  llvm::json::Object toJson(Value v) const;

private:
  void analyseArgs(func::FuncOp fn);
  void analyseBlock(Block &block);
  void analyseOp(Operation *op);
  int axisIndex(StringRef name) const;
  std::string describe(Value v) const;

  SmallVector<std::string> axes;
  DenseMap<Value, ValueSharding> info;
  mutable func::FuncOp fn; // its accessors are not const
};

/// "gpt_tiny.mlir:46:10": the first file location inside `loc` ("unknown").
std::string locationString(Location loc);

/// What a caller adds to each op's entry (the planner: its pipeline stage).
/// Text: appended to the op's line (empty: nothing). JSON: extra keys.
struct ExplanationExtras {
  llvm::function_ref<std::string(Operation *)> text;
  llvm::function_ref<void(Operation *, llvm::json::Object &)> json;
};

/// `weftc --explain`: @forward's arguments and ops in order, each with its
/// location, sharding per axis and reasons; as text or JSON.
void printShardingExplanation(func::FuncOp fn, llvm::raw_ostream &os, bool json,
                              const ExplanationExtras &extras = {});
/// The JSON form alone: {"function", "axes", "args", "ops"}.
llvm::json::Object shardingExplanationJson(func::FuncOp fn, const ExplanationExtras &extras = {});

} // namespace mlir::weft

#endif

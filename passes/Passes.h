//===- Passes.h - Weft's passes ------------------------------------------===//
#ifndef WEFT_PASSES_H
#define WEFT_PASSES_H

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::weft {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Whether @forward carries `weft.sharding` annotations (on an argument or an
/// op): such a model is partitioned by weft-partition-annotated instead of
/// the pattern passes.
bool hasShardingAnnotations(ModuleOp module);

/// weft-autodiff's work on any function: adds to `module` a function `name`
/// that is `forward` (a loss marked weft.loss, parameters marked weft.param)
/// followed by its backward pass, returning the gradient of every
/// weft.param after `forward`'s results. The pipeline pass builds each
/// stage's backward with it. Errors are emitted at the op that has no rule.
LogicalResult buildTrainStep(ModuleOp module, func::FuncOp forward, bool recompute,
                             StringRef name = "train_step");

} // namespace mlir::weft

#endif // WEFT_PASSES_H

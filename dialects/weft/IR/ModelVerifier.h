//===- ModelVerifier.h - the model contract of DESIGN.md -----------------===//
#ifndef WEFT_MODEL_VERIFIER_H
#define WEFT_MODEL_VERIFIER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::weft {

/// Checks that `module` is a Weft model: it holds `func.func @forward`, every
/// argument is one input or one parameter, names are unique among inputs,
/// parameters and outputs, every result is a named output, at most one is the
/// loss, and inputs have a batch dimension. Reports each problem with the
/// location of what is wrong.
LogicalResult verifyModel(ModuleOp module);

/// The model's entry function, or null.
func::FuncOp getForward(ModuleOp module);

} // namespace mlir::weft

#endif // WEFT_MODEL_VERIFIER_H

//===- Passes.td - Weft's passes -----------------------------------------===//
#ifndef WEFT_PASSES_TD
#define WEFT_PASSES_TD

include "mlir/Pass/PassBase.td"

def VerifyModelPass : Pass<"weft-verify-model", "::mlir::ModuleOp"> {
  let summary = "Checks the model contract: @forward, its inputs, parameters and outputs";
  let description = [{
    Every argument of `@forward` is one `weft.input` or one `weft.param`, names
    are unique, every result is a named `weft.output`, at most one is the
    `weft.loss`, and inputs have a batch dimension. The IR is not changed.
  }];
}

#endif // WEFT_PASSES_TD

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

def FuseElementwisePass : Pass<"weft-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Groups elementwise ops and broadcasts into weft.fused regions";
  let description = [{
    Elementwise ops over one shape, and the broadcasts that feed them, become
    one `weft.fused` op: one kernel that reads each input once and writes
    only the values used outside. Every elementwise op ends up in some
    region (a lone op in a region of one), so the backends have a single
    elementwise path. Float and integer ops are never mixed in one region.
  }];
  let dependentDialects = ["::mlir::weft::WeftDialect"];
}

def PlanMemoryPass : Pass<"weft-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Assigns every intermediate tensor an offset in one arena";
  let description = [{
    Computes each intermediate's lifetime in program order (a reshape is a
    view and extends its source's lifetime), then places the buffers
    greedily by decreasing size at the lowest offset free for their whole
    lifetime. Writes `weft.offsets` (one per result; -1 for a result of the
    function, which the runtime writes straight into the tensor it returns)
    on each op and `weft.arena_bytes` on the function. Inputs, parameters and constants
    live outside the arena.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of every buffer">,
  ];
}

#endif // WEFT_PASSES_TD

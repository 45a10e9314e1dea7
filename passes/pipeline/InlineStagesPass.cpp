//===- InlineStagesPass.cpp - weft-inline-stages -------------------------===//
//
// weft-pipeline leaves each pipeline stage outlined (@pp_stage<s>, and
// @pp_stage<s>_backward) and @train_step calling them once per microbatch,
// the form to read with weft-opt. The lowering wants one straight-line
// function: this pass replaces every call to a private function by a copy of
// its body and erases the functions. Written here rather than with MLIR's
// inliner because the shard dialect's collectives (tensor-parallel stages
// hold some) have no inliner interface upstream, so the generic inliner
// would refuse them; a single-block body needs nothing but a clone.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::weft {
#define GEN_PASS_DEF_INLINESTAGESPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct InlineStagesPass : mlir::weft::impl::InlineStagesPassBase<InlineStagesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) { calls.push_back(call); });
    SetVector<func::FuncOp> inlined;
    for (func::CallOp call : calls) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || !callee.isPrivate() || callee.isExternal())
        continue;
      if (!callee.getBody().hasOneBlock()) {
        callee.emitError() << "weft-inline-stages inlines single-block functions only";
        return signalPassFailure();
      }
      Block &body = callee.getBody().front();
      IRMapping map;
      map.map(body.getArguments(), call.getOperands());
      OpBuilder b(call);
      for (Operation &op : body.without_terminator())
        b.clone(op, map);
      for (auto [result, value] : llvm::zip(call.getResults(), body.getTerminator()->getOperands()))
        result.replaceAllUsesWith(map.lookup(value));
      call.erase();
      inlined.insert(callee);
    }
    for (func::FuncOp fn : inlined)
      if (SymbolTable::symbolKnownUseEmpty(fn, module))
        fn.erase();
  }
};

} // namespace

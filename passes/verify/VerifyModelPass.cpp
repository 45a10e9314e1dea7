//===- VerifyModelPass.cpp - weft-verify-model ---------------------------===//
//
// Exposes mlir::weft::verifyModel as a pass, so weft-opt and lit tests can
// check the model contract on any IR. weftc calls verifyModel directly.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

namespace mlir::weft {
#define GEN_PASS_DEF_VERIFYMODELPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

namespace {
struct VerifyModelPass
    : mlir::weft::impl::VerifyModelPassBase<VerifyModelPass> {
  void runOnOperation() override {
    if (mlir::failed(mlir::weft::verifyModel(getOperation())))
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};
} // namespace

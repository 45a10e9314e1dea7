//===- FoldGemmEpiloguePass.cpp - weft-fold-gemm-epilogue ----------------===//
//
// Pairs each matmul with the fused op that finishes its product, when
// cuBLASLt can do that work in the GEMM's epilogue (GemmEpilogue.h decides).
// The pair is made adjacent so that the memory plan and the artifact writer
// see one step: the product never gets bytes of its own.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/lowering/GemmEpilogue.h"

namespace mlir::weft {
#define GEN_PASS_DEF_FOLDGEMMEPILOGUEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct FoldGemmEpiloguePass
    : mlir::weft::impl::FoldGemmEpiloguePassBase<FoldGemmEpiloguePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp m) { matmuls.push_back(m); });
    Builder b(&getContext());
    for (MatmulOp m : matmuls) {
      if (!m.getResult().hasOneUse())
        continue;
      auto fused = dyn_cast<FusedOp>(*m.getResult().getUsers().begin());
      if (!fused || fused->getBlock() != m->getBlock())
        continue;
      std::optional<GemmEpilogueMatch> match = matchGemmEpilogue(m, fused);
      if (!match)
        continue;
      m->moveBefore(fused);
      m->setAttr(kGemmEpilogueAttr,
                 b.getStringAttr(::weft::artifact::GemmEpilogueName(match->kind)));
      // The bias gradient's reduce moves up to right after the fused op
      // (its only operand is the fused op's result).
      if (match->biasGrad) {
        match->biasGrad->moveAfter(fused);
        match->biasGrad->setAttr(kGemmEpilogueAttr, b.getStringAttr("bgrad"));
      }
    }
  }
};

} // namespace

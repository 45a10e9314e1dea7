//===- GemmEpilogue.h - which fused programs a GEMM can finish -----------===//
//
// cuBLASLt finishes a GEMM with an epilogue (bias, GELU, GELU's gradient,
// plus a residual through its C operand) before the product is stored. A
// weft.fused op that is the only user of a weft.matmul and computes one of
// those (runtime/artifact/gemm_epilogue.h lists them) can therefore be folded
// into the matmul: weft-fold-gemm-epilogue marks such pairs and the artifact
// writer emits one Matmul instruction for both. Both ask this matcher, so
// they agree on what folds.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_LOWERING_GEMMEPILOGUE_H
#define WEFT_PASSES_LOWERING_GEMMEPILOGUE_H

#include "dialects/weft/IR/WeftDialect.h"
#include "runtime/artifact/gemm_epilogue.h"

#include <optional>

namespace mlir::weft {

struct GemmEpilogueMatch {
  ::weft::artifact::GemmEpilogue kind;
  /// The matmul's operands after a and b, in the artifact's order (bias;
  /// bias, residual; bias; pre).
  SmallVector<Value, 2> operands;
  /// The fused op's results in the artifact's order: the finished product,
  /// then (bias+gelu_tanh, when the fused op returns it) product + bias, or
  /// (dgelu_tanh+bgrad) the bias gradient, `biasGrad`'s result.
  SmallVector<Value, 2> results;
  /// dgelu_tanh+bgrad: the weft.reduce of the GELU gradient over its rows
  /// that the GEMM computes too (cuBLASLt's DGELU_BGRAD).
  ReduceOp biasGrad;
};

/// The epilogue `fused` computes on `matmul`'s product, if cuBLASLt has one
/// for it: `fused` is the product's only user, every value is f32 with the
/// product's shape (a bias [n], broadcast over rows), and its body is
/// exactly one of the patterns of gemm_epilogue.h.
std::optional<GemmEpilogueMatch> matchGemmEpilogue(MatmulOp matmul, FusedOp fused);

/// The attribute weft-fold-gemm-epilogue sets on a folded matmul (its
/// epilogue's name); its fused op is then the next op, and a folded bias
/// gradient (a weft.reduce marked "bgrad") the one after.
inline constexpr llvm::StringLiteral kGemmEpilogueAttr = "weft.gemm_epilogue";

} // namespace mlir::weft

#endif

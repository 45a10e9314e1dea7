// What a Matmul instruction does to its product before storing it: the
// elementwise work that weftc --target=cuda folds into the GEMM when a fused
// program right after a matmul is one that cuBLASLt's epilogues compute
// (bias, GELU and GELU's gradient), so the product never makes a round trip
// through memory. The numbering is the artifact's (Matmul's ninth int,
// absent: kNone). Shared by compiler and runtime; no dependencies.
//
// Operands after a and b, and results, per kind (the product is a x b, of
// shape [rows, n], rows the batch times m; bias is [n], broadcast):
//   kBias          bias               -> product + bias
//   kBiasResidual  bias, residual     -> product + bias + residual
//   kBiasGeluTanh  bias               -> gelu_tanh(product + bias)[, product + bias]
//                                        (the second result, kept for the
//                                        gradient, is optional)
//   kDGeluTanh     pre                -> product * gelu_tanh'(pre)
//   kDGeluTanhBGrad pre               -> product * gelu_tanh'(pre), and the sum
//                                        of its rows ([n]: the gradient of the
//                                        bias before that GELU)
#ifndef WEFT_RUNTIME_ARTIFACT_GEMM_EPILOGUE_H
#define WEFT_RUNTIME_ARTIFACT_GEMM_EPILOGUE_H

#include <cstdint>
#include <string_view>

namespace weft::artifact {

enum class GemmEpilogue : int64_t {
  kNone = 0,
  kBias = 1,
  kBiasResidual = 2,
  kBiasGeluTanh = 3,
  kDGeluTanh = 4,
  kDGeluTanhBGrad = 5,
};
inline constexpr int64_t kLastGemmEpilogue = 5;

/// The Matmul int that holds it.
inline constexpr int kGemmEpilogueInt = 8;

/// Its name in dumps: "bias", "bias+residual", "bias+gelu_tanh", "dgelu_tanh",
/// "dgelu_tanh+bgrad".
inline std::string_view GemmEpilogueName(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::kNone: return "none";
    case GemmEpilogue::kBias: return "bias";
    case GemmEpilogue::kBiasResidual: return "bias+residual";
    case GemmEpilogue::kBiasGeluTanh: return "bias+gelu_tanh";
    case GemmEpilogue::kDGeluTanh: return "dgelu_tanh";
    case GemmEpilogue::kDGeluTanhBGrad: return "dgelu_tanh+bgrad";
  }
  return "?";
}

/// Whether a kind is a GELU gradient: its operand after a and b is the
/// GELU's input (pre), and it reads no bias.
inline bool IsGeluGradEpilogue(GemmEpilogue e) {
  return e == GemmEpilogue::kDGeluTanh || e == GemmEpilogue::kDGeluTanhBGrad;
}

/// Operands beyond a and b that a kind reads.
inline int GemmEpilogueExtraOperands(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::kNone: return 0;
    case GemmEpilogue::kBias: return 1;
    case GemmEpilogue::kBiasResidual: return 2;
    case GemmEpilogue::kBiasGeluTanh: return 1;
    case GemmEpilogue::kDGeluTanh: return 1;
    case GemmEpilogue::kDGeluTanhBGrad: return 1;
  }
  return 0;
}

}  // namespace weft::artifact

#endif

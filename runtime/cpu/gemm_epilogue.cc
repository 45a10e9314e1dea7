#include "runtime/cpu/gemm_epilogue.h"

#include <vector>

#include "runtime/cpu/fused.h"
#include "runtime/cpu/kernels.h"

namespace weft::cpu {

using artifact::GemmEpilogue;

void ApplyGemmEpilogue(GemmEpilogue kind, float *out, const float *bias, const float *extra,
                       float *second, int64_t rows, int64_t n) {
  if (kind == GemmEpilogue::kNone || rows <= 0 || n <= 0) return;
  // Registers: 0 the product, 1 the bias (broadcast over rows) or pre,
  // 2 the residual; then one per step (see fused.h).
  FusedKernel k;
  k.shape = {rows, n};
  std::vector<const void *> operands = {out};
  k.loads.push_back({0, {n, 1}});
  switch (kind) {
    case GemmEpilogue::kNone: return;
    case GemmEpilogue::kBias:
      operands.push_back(bias);
      k.loads.push_back({1, {0, 1}});
      k.steps = {{EwOp::kAdd, 0, 1, 0, 0.0f}};  // r2
      k.outputs = {2};
      break;
    case GemmEpilogue::kBiasResidual:
      operands.push_back(bias);
      operands.push_back(extra);
      k.loads.push_back({1, {0, 1}});
      k.loads.push_back({2, {n, 1}});
      k.steps = {{EwOp::kAdd, 0, 1, 0, 0.0f},   // r3 = product + bias
                 {EwOp::kAdd, 3, 2, 0, 0.0f}};  // r4 = r3 + residual
      k.outputs = {4};
      break;
    case GemmEpilogue::kBiasGeluTanh:
      operands.push_back(bias);
      k.loads.push_back({1, {0, 1}});
      k.steps = {{EwOp::kAdd, 0, 1, 0, 0.0f},        // r2 = pre
                 {EwOp::kGeluTanh, 2, 0, 0, 0.0f}};  // r3
      k.outputs = {3};
      if (second) k.outputs.push_back(2);
      break;
    case GemmEpilogue::kDGeluTanh:
    case GemmEpilogue::kDGeluTanhBGrad:
      operands.push_back(extra);
      k.loads.push_back({1, {n, 1}});
      k.steps = {{EwOp::kGeluTanhGrad, 1, 0, 0, 0.0f}};  // (x = pre, dy = product)
      k.outputs = {2};
      break;
  }
  std::vector<DType> operand_types(operands.size(), DType::kF32);
  std::vector<void *> results = {out};
  if (k.outputs.size() > 1) results.push_back(second);
  RunFused(k, operands, operand_types, results, std::vector<DType>(results.size(), DType::kF32));
  // The bias gradient: the weft.reduce the artifact folded, as it ran.
  if (kind == GemmEpilogue::kDGeluTanhBGrad)
    Reduce(out, second, {rows, n}, {true, false}, ReduceKind::kSum);
}

}  // namespace weft::cpu

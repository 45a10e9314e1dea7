// The CPU backend's fused elementwise kernel: it runs a FusedProgram (see
// artifact.fbs) tile by tile. Each tile of up to 256 elements along the last
// dimension is loaded once per load (contiguous, broadcast or strided, with
// bf16/f16 widened to f32), every step runs over the tile in registers that
// stay in L1, and only the outputs are stored. This is the "generated fused
// kernel" of the CPU backend, interpreted per tile instead of compiled: the
// dispatch per step is amortised over a whole tile.
#ifndef WEFT_RUNTIME_CPU_FUSED_H
#define WEFT_RUNTIME_CPU_FUSED_H

#include <cstdint>
#include <vector>

#include "weft/tensor.h"

namespace weft::cpu {

// The same numbering as fb::EwOp.
enum class EwOp : uint8_t {
  kAdd, kSub, kMul, kDiv, kMax, kMin, kPow,
  kNeg, kExp, kLog, kSqrt, kRsqrt, kTanh, kSigmoid, kRelu, kSilu, kGelu, kGeluTanh,
  kReluGrad, kSiluGrad, kSigmoidGrad, kTanhGrad, kGeluGrad, kGeluTanhGrad, kMaxGrad, kMinGrad,
  kScale
};

struct FusedKernel {
  std::vector<int64_t> shape;
  bool integer = false;  // int64 arithmetic instead of f32
  struct Load {
    uint32_t operand;
    std::vector<int64_t> strides;
  };
  std::vector<Load> loads;
  struct Step {
    EwOp op;
    uint32_t a, b, c;
    float imm;
  };
  std::vector<Step> steps;
  std::vector<uint32_t> outputs;  // register per result
};

/// Runs `k` over operand buffers (with their dtypes) into result buffers.
void RunFused(const FusedKernel &k, const std::vector<const void *> &operands,
              const std::vector<DType> &operand_types, const std::vector<void *> &results,
              const std::vector<DType> &result_types);

}  // namespace weft::cpu

#endif

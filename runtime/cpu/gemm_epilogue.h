// A Matmul instruction's epilogue on the CPU backend (see
// runtime/artifact/gemm_epilogue.h): the product is computed into the
// result first, then this finishes it in place. It runs as a fused
// elementwise program (cpu::RunFused), so its numbers are exactly those of
// the unfused instructions that weftc --target=cuda folded into the matmul.
#ifndef WEFT_RUNTIME_CPU_GEMM_EPILOGUE_H
#define WEFT_RUNTIME_CPU_GEMM_EPILOGUE_H

#include <cstdint>

#include "runtime/artifact/gemm_epilogue.h"

namespace weft::cpu {

/// `out` [rows, n] holds the product and receives the result. `extra` is the
/// kind's operand after the bias (residual, or pre for the GELU gradients,
/// which have no bias); `second` is the optional second result:
/// kBiasGeluTanh's product + bias [rows, n] (may be null), or
/// kDGeluTanhBGrad's row sum [n] (cpu::Reduce's, summed in double). Buffers
/// other than `out` must not overlap it.
void ApplyGemmEpilogue(artifact::GemmEpilogue kind, float *out, const float *bias, const float *extra,
                       float *second, int64_t rows, int64_t n);

}  // namespace weft::cpu

#endif

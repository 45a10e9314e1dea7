// CUDA C source for the artifact's fused elementwise programs (the CUDA
// backend's "generated fused kernels"). One kernel per distinct program,
// specialised on its shape and strides (constants the compiler folds), with
// a grid-stride loop over the elements: every thread loads its element of
// each operand once, runs the steps in registers and stores the results,
// the same arithmetic as the CPU backend's interpreter (runtime/cpu/fused.cc).
//
// The source is plain CUDA C without includes, so NVRTC compiles it without
// a toolkit header path, and a host C++ compiler compiles it too through a
// few macros (tests/unit/FusedKernelSourceTest.cpp runs it on the host
// against the CPU interpreter). Free of LLVM and MLIR: weftc and tests link it.
#ifndef WEFT_COMPILER_TARGET_CUDA_FUSEDKERNELSOURCE_H
#define WEFT_COMPILER_TARGET_CUDA_FUSEDKERNELSOURCE_H

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/artifact/artifact_generated.h"
#include "weft/tensor.h"

namespace weft::cuda {

/// A fused program as the artifact's FusedProgram holds it, plus the
/// element types of the instruction's operands and results.
struct FusedProgramSpec {
  std::vector<int64_t> shape;
  bool integer = false;  // int64 arithmetic (integer tensors) instead of f32
  struct Load {
    uint32_t operand;
    std::vector<int64_t> strides;  // per dimension of `shape`; 0 broadcasts
  };
  std::vector<Load> loads;
  struct Step {
    fb::EwOp op;
    uint32_t a, b, c;
    float imm;
  };
  std::vector<Step> steps;
  std::vector<uint32_t> outputs;  // the register stored to each result
  std::vector<DType> operand_types, result_types;
};

/// The C type a kernel's pointer parameter of `t` points to (bf16 and f16
/// travel as their bits, `unsigned short`).
const char *PointerType(DType t);

/// The conversions and helpers every kernel uses; once per module.
std::string FusedKernelPrelude();

/// The kernel's name: "weft_fused_" and a hash of everything the body
/// depends on, so equal programs (data-parallel ranks, repeated layers)
/// share one kernel.
std::string FusedKernelName(const FusedProgramSpec &spec);

/// `extern "C" __global__ void <name>(operands..., results..., long long n)`:
/// one pointer parameter per operand then per result, in instruction order,
/// then the element count (the product of `shape`).
std::string FusedKernelSource(const FusedProgramSpec &spec);

}  // namespace weft::cuda

#endif

// The matmul instruction on the GPU, the CUDA twin of cpu::Matmul, through
// cuBLASLt: c[batch, m, n] = a[batch, m, k] x b[batch or 1, k, n], row-major,
// a stored [k, m] when transpose_a, b stored [n, k] when transpose_b.
//
// f32 operands compute in true f32 (CUBLAS_COMPUTE_32F, no TF32), so the
// result matches the CPU backend to rounding; bf16 operands (autocast's
// matmuls, --precision=bf16) accumulate in f32 and write bf16.
#ifndef WEFT_RUNTIME_CUDA_GEMM_H
#define WEFT_RUNTIME_CUDA_GEMM_H

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "absl/status/statusor.h"
#include "runtime/artifact/gemm_epilogue.h"
#include "runtime/cuda/cublaslt.h"
#include "weft/tensor.h"

namespace weft::cuda {

struct GemmShape {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool transpose_a = false, transpose_b = false;
  bool b_batched = false;  // false: one b shared by every batch entry
  float alpha = 1.0f;      // c = alpha * (a x b)
  // f32 a, b and c computed by cuBLAS's CUBLAS_COMPUTE_32F_FAST_16BF: the
  // inputs down-converted to bf16 inside the GEMM, no cast kernels; whether
  // its rounding is --precision=bf16's (nearest even) is for a GPU test to
  // show, so it is opt-in (WEFT_CUDA_BF16_GEMM=fast).
  bool fast_bf16 = false;
};

/// What the GEMM does to the product before storing it: a Matmul's
/// epilogue (runtime/artifact/gemm_epilogue.h), f32 output only. It runs in
/// cuBLASLt's epilogue (the residual through C, with beta 1) where cuBLASLt
/// has one for the shape, else as a kernel over the product after a plain
/// GEMM (kernels.h GemmEpilogue), which also checks the fused one on a GPU.
struct GemmEpilogueArgs {
  artifact::GemmEpilogue kind = artifact::GemmEpilogue::kNone;
  const float *bias = nullptr;      // [n]: kBias, kBiasResidual, kBiasGeluTanh
  const float *residual = nullptr;  // [batch * m, n]: kBiasResidual
  const float *pre = nullptr;       // [batch * m, n]: the GELU gradients' gelu input
  float *pre_out = nullptr;         // kBiasGeluTanh: product + bias, or null
  float *bias_grad = nullptr;       // [n]: kDGeluTanhBGrad's row sum
  bool force_fallback = false;      // the kernel path even where cuBLASLt fuses (tests)
};

/// A cuBLASLt handle and its workspace on one GPU; one per device, used by
/// that device's thread.
class Gemm {
 public:
  /// On the current GPU. cuBLASLt is loaded on the first call.
  static absl::StatusOr<std::unique_ptr<Gemm>> Create();
  ~Gemm();
  Gemm(const Gemm &) = delete;
  Gemm &operator=(const Gemm &) = delete;

  /// Enqueues c = a x b on `stream`. `dtype` is the type of a, b and c:
  /// f32 or bf16. a, b and c are device memory; c must not overlap a or b.
  absl::Status Run(const void *a, const void *b, void *c, const GemmShape &shape, DType dtype,
                   cudaStream_t stream) {
    return Run(a, b, c, shape, dtype, dtype, stream);
  }
  /// Mixed precision: a and b of `dtype` (bf16), c of `out_dtype` (f32),
  /// accumulated in f32 (weftc --precision=bf16).
  absl::Status Run(const void *a, const void *b, void *c, const GemmShape &shape, DType dtype,
                   DType out_dtype, cudaStream_t stream);
  /// With an epilogue (c f32).
  absl::Status Run(const void *a, const void *b, float *c, const GemmShape &shape, DType dtype,
                   const GemmEpilogueArgs &epilogue, cudaStream_t stream);
  /// How many epilogue calls ran inside cuBLASLt and how many as a kernel
  /// after it, since creation (the GPU tests check them; a replayed CUDA
  /// graph does not count again).
  int64_t fused_epilogues() const { return fused_epilogues_; }
  int64_t fallback_epilogues() const { return fallback_epilogues_; }

 private:
  Gemm() = default;
  // Descriptors and the heuristic's algorithm for one shape, types and
  // operand alignment: built on the first GEMM of its kind, reused after
  // (a training step repeats the same few dozen shapes every step).
  struct Plan;
  // ... plus the cuBLASLt epilogue (CUBLASLT_EPILOGUE_DEFAULT without one)
  // and the residual's (0: none), the bias's and the aux's alignment.
  using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, bool, bool, int, int,
                             uint32_t, uint32_t, uint32_t, int, uint32_t, uint32_t, uint32_t>;
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
  // Epilogue shapes cuBLASLt refused: they take the kernel path from then on.
  std::map<PlanKey, bool> unfusable_;
  int64_t fused_epilogues_ = 0, fallback_epilogues_ = 0;
  // The GEMM through cuBLASLt, with the epilogue in it; false when cuBLASLt
  // has no algorithm for that epilogue on this shape (never without one:
  // that is an error).
  absl::StatusOr<bool> RunLt(const void *a, const void *b, void *c, const GemmShape &shape,
                             DType dtype, DType out_dtype, const GemmEpilogueArgs &epilogue,
                             cudaStream_t stream);
  const CublasLt *lt_ = nullptr;
  cublasLtHandle_t handle_ = nullptr;
  void *workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

}  // namespace weft::cuda

#endif

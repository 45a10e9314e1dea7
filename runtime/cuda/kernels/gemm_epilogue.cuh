// A Matmul's epilogue (runtime/artifact/gemm_epilogue.h) as a kernel of its
// own, run over the product in place after a plain GEMM: the fallback for
// when cuBLASLt has no fused epilogue for a shape (GELU's auxiliary matrix
// wants a leading dimension divisible by 8, say). The twin of
// cpu::ApplyGemmEpilogue, with the fused kernels' formulas
// (compiler/target/cuda/FusedKernelSource.cpp).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_GEMM_EPILOGUE_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_GEMM_EPILOGUE_CUH

#include "runtime/artifact/gemm_epilogue.h"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

__device__ __forceinline__ float GeluTanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float GeluTanhGrad(float x, float dy) {
  const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  const float t = tanhf(u);
  const float du = 0.79788456080286536f * (1.0f + 0.134145f * x * x);
  return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
}

/// out [rows, n] holds the product; `kind` is an artifact::GemmEpilogue.
__global__ void GemmEpilogueKernel(float *out, const float *bias, const float *extra,
                                   float *pre_out, int64_t rows, int64_t n, int kind) {
  using artifact::GemmEpilogue;
  for (int64_t i = FirstItem(); i < rows * n; i += ItemStride()) {
    const float product = out[i];
    switch (static_cast<GemmEpilogue>(kind)) {
      case GemmEpilogue::kNone: break;
      case GemmEpilogue::kBias: out[i] = product + bias[i % n]; break;
      case GemmEpilogue::kBiasResidual: out[i] = (product + bias[i % n]) + extra[i]; break;
      case GemmEpilogue::kBiasGeluTanh: {
        const float pre = product + bias[i % n];
        out[i] = GeluTanh(pre);
        if (pre_out) pre_out[i] = pre;
        break;
      }
      case GemmEpilogue::kDGeluTanh:
      case GemmEpilogue::kDGeluTanhBGrad:  // the caller sums the rows (Reduce)
        out[i] = GeluTanhGrad(extra[i], product);
        break;
    }
  }
}

template <typename Launch>
void GemmEpilogueRun(const Launch &launch, artifact::GemmEpilogue kind, float *out,
                     const float *bias, const float *extra, float *pre_out, int64_t rows,
                     int64_t n) {
  if (kind == artifact::GemmEpilogue::kNone || rows <= 0 || n <= 0) return;
  launch(GemmEpilogueKernel, rows * n, out, bias, extra, pre_out, rows, n,
         static_cast<int>(kind));
}

}  // namespace weft::cuda::kernels

#endif

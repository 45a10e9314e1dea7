// cuBLASLt, loaded on first use. Linking libcublasLt would load all 540 MB
// of it into every process that links the runtime, CPU-only runs included
// (about 40 ms and 200 MB each, measured); dlopen defers that to the first
// GEMM. The entry points are the library's own, taken with their declared
// types from cublasLt.h.
#ifndef WEFT_RUNTIME_CUDA_CUBLASLT_H
#define WEFT_RUNTIME_CUDA_CUBLASLT_H

#include <cublasLt.h>

#include "absl/status/statusor.h"

namespace weft::cuda {

struct CublasLt {
  decltype(&cublasLtGetVersion) GetVersion;
  decltype(&cublasLtCreate) Create;
  decltype(&cublasLtDestroy) Destroy;
  decltype(&cublasLtMatmulDescCreate) MatmulDescCreate;
  decltype(&cublasLtMatmulDescDestroy) MatmulDescDestroy;
  decltype(&cublasLtMatmulDescSetAttribute) MatmulDescSetAttribute;
  decltype(&cublasLtMatrixLayoutCreate) MatrixLayoutCreate;
  decltype(&cublasLtMatrixLayoutDestroy) MatrixLayoutDestroy;
  decltype(&cublasLtMatrixLayoutSetAttribute) MatrixLayoutSetAttribute;
  decltype(&cublasLtMatmulPreferenceCreate) MatmulPreferenceCreate;
  decltype(&cublasLtMatmulPreferenceDestroy) MatmulPreferenceDestroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) MatmulPreferenceSetAttribute;
  decltype(&cublasLtMatmulAlgoGetHeuristic) MatmulAlgoGetHeuristic;
  decltype(&cublasLtMatmul) Matmul;
};

/// The library's entry points, loaded once (libcublasLt.so.13, found as the
/// dynamic loader finds libraries); an error naming what is missing.
absl::StatusOr<const CublasLt *> LoadCublasLt();

}  // namespace weft::cuda

#endif

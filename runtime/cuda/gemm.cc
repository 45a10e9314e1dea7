// cpu::Matmul's row-major product in cuBLASLt's column-major terms: a
// row-major [r, c] matrix is a column-major [c, r] one, so
// C[m, n] = A[m, k] B[k, n] is computed as C^T[n, m] = B^T[n, k] A^T[k, m],
// with B as cuBLASLt's first operand and A as its second, no copies.
#include "runtime/cuda/gemm.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"

namespace weft::cuda {
namespace {

// 32 MiB, the workspace NVIDIA advises for Hopper.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

// The descriptors of one call, destroyed however it ends.
struct Descriptors {
  explicit Descriptors(const CublasLt *l) : lt(l) {}
  Descriptors(const Descriptors &) = delete;
  Descriptors &operator=(const Descriptors &) = delete;
  const CublasLt *lt;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~Descriptors() {
    if (pref) lt->MatmulPreferenceDestroy(pref);
    for (cublasLtMatrixLayout_t l : {a, b, c})
      if (l) lt->MatrixLayoutDestroy(l);
    if (op) lt->MatmulDescDestroy(op);
  }
};

// A column-major rows x cols matrix with leading dimension `ld`, `batch` of
// them `stride` elements apart (0: one matrix for every batch entry).
absl::Status Layout(const CublasLt &lt, cublasLtMatrixLayout_t *out, cudaDataType_t type,
                    int64_t rows, int64_t cols, int64_t ld, int32_t batch, int64_t stride) {
  WEFT_CUDA_RETURN_IF_ERROR(lt.MatrixLayoutCreate(out, type, rows, cols, ld));
  if (batch > 1) {
    WEFT_CUDA_RETURN_IF_ERROR(lt.MatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                          &batch, sizeof(batch)));
    WEFT_CUDA_RETURN_IF_ERROR(lt.MatrixLayoutSetAttribute(
        *out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return absl::OkStatus();
}

}  // namespace

struct Gemm::Plan {
  explicit Plan(const CublasLt *lt) : d(lt) {}
  Descriptors d;
  cublasLtMatmulAlgo_t algo{};
};

absl::StatusOr<std::unique_ptr<Gemm>> Gemm::Create() {
  absl::StatusOr<const CublasLt *> lt = LoadCublasLt();
  if (!lt.ok()) return lt.status();
  std::unique_ptr<Gemm> g(new Gemm());
  g->lt_ = *lt;
  WEFT_CUDA_RETURN_IF_ERROR(g->lt_->Create(&g->handle_));
  WEFT_CUDA_RETURN_IF_ERROR(cudaMalloc(&g->workspace_, kWorkspaceBytes));
  g->workspace_bytes_ = kWorkspaceBytes;
  return g;
}

Gemm::~Gemm() {
  if (workspace_) cudaFree(workspace_);
  if (handle_) lt_->Destroy(handle_);
}

namespace {

// cuBLASLt's epilogue for ours, and whether it needs the aux matrix (whose
// leading dimension must divide by 8).
std::pair<cublasLtEpilogue_t, bool> LtEpilogue(const GemmEpilogueArgs &e) {
  using artifact::GemmEpilogue;
  switch (e.kind) {
    case GemmEpilogue::kNone: return {CUBLASLT_EPILOGUE_DEFAULT, false};
    case GemmEpilogue::kBias:
    case GemmEpilogue::kBiasResidual: return {CUBLASLT_EPILOGUE_BIAS, false};
    case GemmEpilogue::kBiasGeluTanh:
      return e.pre_out ? std::pair{CUBLASLT_EPILOGUE_GELU_AUX_BIAS, true}
                       : std::pair{CUBLASLT_EPILOGUE_GELU_BIAS, false};
    case GemmEpilogue::kDGeluTanh: return {CUBLASLT_EPILOGUE_DGELU, true};
    case GemmEpilogue::kDGeluTanhBGrad: return {CUBLASLT_EPILOGUE_DGELU_BGRAD, true};
  }
  return {CUBLASLT_EPILOGUE_DEFAULT, false};
}

uint32_t Alignment(const void *p) {
  uint32_t align = 256;
  while (align > 1 && reinterpret_cast<uintptr_t>(p) % align != 0) align /= 2;
  return align;
}

}  // namespace

absl::Status Gemm::Run(const void *a, const void *b, void *c, const GemmShape &s, DType dtype,
                       DType out_dtype, cudaStream_t stream) {
  absl::StatusOr<bool> done = RunLt(a, b, c, s, dtype, out_dtype, GemmEpilogueArgs{}, stream);
  return done.ok() ? absl::OkStatus() : done.status();
}

absl::Status Gemm::Run(const void *a, const void *b, float *c, const GemmShape &s, DType dtype,
                       const GemmEpilogueArgs &e, cudaStream_t stream) {
  if (e.kind == artifact::GemmEpilogue::kNone) return Run(a, b, c, s, dtype, DType::kF32, stream);
  if (!e.force_fallback) {
    absl::StatusOr<bool> fused = RunLt(a, b, c, s, dtype, DType::kF32, e, stream);
    if (!fused.ok()) return fused.status();
    if (*fused) {
      ++fused_epilogues_;
      return absl::OkStatus();
    }
  }
  ++fallback_epilogues_;
  if (absl::Status st = Run(a, b, c, s, dtype, DType::kF32, stream); !st.ok()) return st;
  const bool bgrad = e.kind == artifact::GemmEpilogue::kDGeluTanhBGrad;
  if (absl::Status st = GemmEpilogue(bgrad ? artifact::GemmEpilogue::kDGeluTanh : e.kind, c, e.bias,
                                     artifact::IsGeluGradEpilogue(e.kind) ? e.pre : e.residual,
                                     e.pre_out, s.batch * s.m, s.n, stream);
      !st.ok())
    return st;
  // The bias gradient: the sum over the rows, as the Reduce instruction.
  if (bgrad) return Reduce(c, e.bias_grad, {s.batch * s.m, s.n}, {true, false}, 0, stream);
  return absl::OkStatus();
}

absl::StatusOr<bool> Gemm::RunLt(const void *a, const void *b, void *c, const GemmShape &s,
                                 DType dtype, DType out_dtype, const GemmEpilogueArgs &e,
                                 cudaStream_t stream) {
  if (out_dtype != DType::kF32 && out_dtype != dtype)
    return absl::UnimplementedError(absl::StrCat("a ", DTypeName(dtype), " matmul into ",
                                                 DTypeName(out_dtype)));
  if (dtype != DType::kF32 && dtype != DType::kBF16)
    return absl::UnimplementedError(
        absl::StrCat("matmul on ", DTypeName(dtype), ": the CUDA GEMM takes f32 or bf16"));
  const bool epilogue = e.kind != artifact::GemmEpilogue::kNone;
  if (s.batch <= 0 || s.m <= 0 || s.n <= 0) return true;
  const size_t element = DTypeSize(out_dtype);
  if (s.k <= 0) {  // an empty sum, as cpu::Matmul has it; the epilogue's kernel finishes it
    if (epilogue) return false;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(c, 0, s.batch * s.m * s.n * element, stream));
    return true;
  }
  // With one shared b and an untransposed a, the batch is one [batch*m, k]
  // matrix: a single large GEMM instead of a batch of small ones.
  const bool fold = !s.b_batched && !s.transpose_a;
  const int64_t m = fold ? s.batch * s.m : s.m;
  const int64_t batch = fold ? 1 : s.batch;
  if (batch > INT32_MAX)
    return absl::InvalidArgumentError(absl::StrCat("a batch of ", batch, " matrices"));
  const auto [lt_epilogue, aux] = LtEpilogue(e);
  // The aux matrix (GELU's input) is [rows of D = n] x m column-major.
  if (aux && s.n % 8 != 0) return false;
  // cuBLASLt's bias gradient is per batch entry; ours sums them all.
  if (e.kind == artifact::GemmEpilogue::kDGeluTanhBGrad && batch > 1) return false;
  const cudaDataType_t type = dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  const cudaDataType_t out_type = out_dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  // cuBLASLt assumes 256-byte aligned operands unless told: the arena's
  // values are 64-byte aligned, scratch and views may be less.
  const uint32_t align_a = Alignment(a), align_b = Alignment(b), align_c = Alignment(c);
  const bool residual = e.kind == artifact::GemmEpilogue::kBiasResidual;
  const void *aux_ptr = artifact::IsGeluGradEpilogue(e.kind) ? e.pre : e.pre_out;
  // BGRAD epilogues write the bias gradient where the bias would be read.
  const void *bias_ptr =
      e.kind == artifact::GemmEpilogue::kDGeluTanhBGrad ? static_cast<const void *>(e.bias_grad)
                                                        : e.bias;
  const PlanKey key{s.batch, s.m, s.n, s.k, s.transpose_a, s.transpose_b, s.b_batched,
                    s.fast_bf16, static_cast<int>(dtype), static_cast<int>(out_dtype), align_a,
                    align_b, align_c, static_cast<int>(lt_epilogue),
                    residual ? Alignment(e.residual) : 0u,
                    bias_ptr ? Alignment(bias_ptr) : 0, aux ? Alignment(aux_ptr) : 0};
  if (unfusable_.count(key)) return false;
  std::unique_ptr<Plan> &plan = plans_[key];
  if (!plan) {
    auto made = std::make_unique<Plan>(lt_);
    Descriptors &d = made->d;
    const cublasComputeType_t compute =
        s.fast_bf16 && dtype == DType::kF32 ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulDescCreate(&d.op, compute, CUDA_R_32F));
    // cuBLASLt's first operand is our b, its second our a (see the top).
    const cublasOperation_t op_first = s.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_second = s.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA,
                                                          &op_first, sizeof(op_first)));
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB,
                                                          &op_second, sizeof(op_second)));
    const int32_t batch32 = static_cast<int32_t>(batch);
    // Our b: stored [k, n] (column-major [n, k]) or, transposed, [n, k].
    if (absl::Status st = s.transpose_b
                              ? Layout(*lt_, &d.a, type, s.k, s.n, s.k, batch32, s.b_batched ? s.k * s.n : 0)
                              : Layout(*lt_, &d.a, type, s.n, s.k, s.n, batch32, s.b_batched ? s.k * s.n : 0);
        !st.ok())
      return st;
    // Our a: stored [m, k] (column-major [k, m]) or, transposed, [k, m].
    if (absl::Status st = s.transpose_a ? Layout(*lt_, &d.b, type, m, s.k, m, batch32, m * s.k)
                                        : Layout(*lt_, &d.b, type, s.k, m, s.k, batch32, m * s.k);
        !st.ok())
      return st;
    if (absl::Status st = Layout(*lt_, &d.c, out_type, s.n, m, s.n, batch32, m * s.n); !st.ok())
      return st;
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulPreferenceCreate(&d.pref));
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_, sizeof(workspace_bytes_)));
    // cuBLASLt's A is our b and its B our a (see the top); C and D are our
    // c (or, with a residual, C is the residual, laid out as D).
    const uint32_t align_cin = residual ? Alignment(e.residual) : align_c;
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligned[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, std::min(align_c, align_cin)},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c}};
    for (const auto &[attribute, bytes] : aligned)
      WEFT_CUDA_RETURN_IF_ERROR(
          lt_->MatmulPreferenceSetAttribute(d.pref, attribute, &bytes, sizeof(bytes)));
    // The epilogue: a refusal of any of it means the kernel path.
    if (epilogue) {
      const uint32_t code = lt_epilogue;
      const int64_t aux_ld = s.n, aux_stride = m * s.n;
      bool ok = lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &code,
                                            sizeof(code)) == CUBLAS_STATUS_SUCCESS;
      if (ok && bias_ptr)
        ok = lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr,
                                         sizeof(bias_ptr)) == CUBLAS_STATUS_SUCCESS;
      if (ok && aux) {
        ok = lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                         &aux_ptr, sizeof(aux_ptr)) == CUBLAS_STATUS_SUCCESS &&
             lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld,
                                         sizeof(aux_ld)) == CUBLAS_STATUS_SUCCESS;
        if (ok && batch > 1)
          ok = lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE,
                                           &aux_stride, sizeof(aux_stride)) == CUBLAS_STATUS_SUCCESS;
      }
      if (!ok) {
        plans_.erase(key);
        unfusable_[key] = true;
        return false;
      }
    }
    cublasLtMatmulHeuristicResult_t best{};
    int found = 0;
    const cublasStatus_t heuristic =
        lt_->MatmulAlgoGetHeuristic(handle_, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &best, &found);
    // cuBLASLt says "not for this epilogue" with NOT_SUPPORTED (or
    // INVALID_VALUE, e.g. for a single row); anything else is an error.
    if (epilogue && (heuristic == CUBLAS_STATUS_NOT_SUPPORTED ||
                     heuristic == CUBLAS_STATUS_INVALID_VALUE ||
                     (heuristic == CUBLAS_STATUS_SUCCESS && found == 0))) {
      plans_.erase(key);
      unfusable_[key] = true;
      return false;
    }
    WEFT_CUDA_RETURN_IF_ERROR(heuristic);
    if (found == 0) {
      plans_.erase(key);
      return absl::UnimplementedError(absl::StrCat(
          "cuBLASLt has no algorithm for a ", DTypeName(dtype), " matmul of batch ", batch, ", m ",
          m, ", n ", s.n, ", k ", s.k));
    }
    made->algo = best.algo;
    plan = std::move(made);
  }
  const Descriptors &d = plan->d;
  // The plan is shared by every GEMM of its shape (each layer's): this
  // call's bias and aux.
  if (bias_ptr)
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                          &bias_ptr, sizeof(bias_ptr)));
  if (aux)
    WEFT_CUDA_RETURN_IF_ERROR(lt_->MatmulDescSetAttribute(
        d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux_ptr, sizeof(aux_ptr)));
  const float alpha = s.alpha, beta = residual ? 1.0f : 0.0f;
  const void *c_in = residual ? static_cast<const void *>(e.residual) : c;
  const cublasStatus_t status = lt_->Matmul(handle_, d.op, &alpha, b, d.a, a, d.b, &beta, c_in,
                                            d.c, c, d.c, &plan->algo, workspace_,
                                            workspace_bytes_, stream);
  if (epilogue && status == CUBLAS_STATUS_NOT_SUPPORTED) {  // nothing was enqueued
    plans_.erase(key);
    unfusable_[key] = true;
    return false;
  }
  WEFT_CUDA_RETURN_IF_ERROR(status);
  return true;
}

}  // namespace weft::cuda

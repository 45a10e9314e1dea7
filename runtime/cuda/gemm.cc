// cpu::Matmul's row-major product in cuBLASLt's column-major terms: a
// row-major [r, c] matrix is a column-major [c, r] one, so
// C[m, n] = A[m, k] B[k, n] is computed as C^T[n, m] = B^T[n, k] A^T[k, m],
// with B as cuBLASLt's first operand and A as its second, no copies.
#include "runtime/cuda/gemm.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"

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

absl::Status Gemm::Run(const void *a, const void *b, void *c, const GemmShape &s, DType dtype,
                       DType out_dtype, cudaStream_t stream) {
  if (out_dtype != DType::kF32 && out_dtype != dtype)
    return absl::UnimplementedError(absl::StrCat("a ", DTypeName(dtype), " matmul into ",
                                                 DTypeName(out_dtype)));
  if (dtype != DType::kF32 && dtype != DType::kBF16)
    return absl::UnimplementedError(
        absl::StrCat("matmul on ", DTypeName(dtype), ": the CUDA GEMM takes f32 or bf16"));
  if (s.batch <= 0 || s.m <= 0 || s.n <= 0) return absl::OkStatus();
  const size_t element = DTypeSize(out_dtype);
  if (s.k <= 0) {  // an empty sum, as cpu::Matmul has it
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(c, 0, s.batch * s.m * s.n * element, stream));
    return absl::OkStatus();
  }
  // With one shared b and an untransposed a, the batch is one [batch*m, k]
  // matrix: a single large GEMM instead of a batch of small ones.
  const bool fold = !s.b_batched && !s.transpose_a;
  const int64_t m = fold ? s.batch * s.m : s.m;
  const int64_t batch = fold ? 1 : s.batch;
  if (batch > INT32_MAX)
    return absl::InvalidArgumentError(absl::StrCat("a batch of ", batch, " matrices"));
  const cudaDataType_t type = dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  const cudaDataType_t out_type = out_dtype == DType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  // cuBLASLt assumes 256-byte aligned operands unless told: the arena's
  // values are 64-byte aligned, scratch and views may be less.
  auto alignment = [](const void *p) {
    uint32_t align = 256;
    while (align > 1 && reinterpret_cast<uintptr_t>(p) % align != 0) align /= 2;
    return align;
  };
  const uint32_t align_a = alignment(a), align_b = alignment(b), align_c = alignment(c);
  const PlanKey key{s.batch, s.m, s.n, s.k, s.transpose_a, s.transpose_b, s.b_batched,
                    s.fast_bf16, static_cast<int>(dtype), static_cast<int>(out_dtype), align_a,
                    align_b, align_c};
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
    // cuBLASLt's A is our b and its B our a (see the top); C and D are our c.
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligned[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c}};
    for (const auto &[attribute, bytes] : aligned)
      WEFT_CUDA_RETURN_IF_ERROR(
          lt_->MatmulPreferenceSetAttribute(d.pref, attribute, &bytes, sizeof(bytes)));
    cublasLtMatmulHeuristicResult_t best{};
    int found = 0;
    WEFT_CUDA_RETURN_IF_ERROR(
        lt_->MatmulAlgoGetHeuristic(handle_, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &best, &found));
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
  const float alpha = s.alpha, beta = 0.0f;
  WEFT_CUDA_RETURN_IF_ERROR(lt_->Matmul(handle_, d.op, &alpha, b, d.a, a, d.b, &beta, c, d.c, c,
                                        d.c, &plan->algo, workspace_, workspace_bytes_, stream));
  return absl::OkStatus();
}

}  // namespace weft::cuda

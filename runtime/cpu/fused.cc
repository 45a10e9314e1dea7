#include "runtime/cpu/fused.h"

#include <algorithm>
#include <cmath>

#include "runtime/cpu/fastmath.h"
#include "runtime/cpu/kernels.h"

namespace weft::cpu {
namespace {

constexpr int64_t kTile = 256;

template <typename T>
T LoadOne(const void *p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: return static_cast<T>(static_cast<const float *>(p)[i]);
    case DType::kBF16: return static_cast<T>(Bf16ToF32(static_cast<const uint16_t *>(p)[i]));
    case DType::kF16: return static_cast<T>(F16ToF32(static_cast<const uint16_t *>(p)[i]));
    case DType::kI32: return static_cast<T>(static_cast<const int32_t *>(p)[i]);
    case DType::kI64: return static_cast<T>(static_cast<const int64_t *>(p)[i]);
  }
  return T();
}

template <typename T>
void StoreOne(void *p, DType t, int64_t i, T v) {
  switch (t) {
    case DType::kF32: static_cast<float *>(p)[i] = static_cast<float>(v); break;
    case DType::kBF16: static_cast<uint16_t *>(p)[i] = F32ToBf16(static_cast<float>(v)); break;
    case DType::kF16: static_cast<uint16_t *>(p)[i] = F32ToF16(static_cast<float>(v)); break;
    case DType::kI32: static_cast<int32_t *>(p)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t *>(p)[i] = static_cast<int64_t>(v); break;
  }
}

// One step over a tile; the switch sits outside the element loop so each
// loop is a simple, vectorisable body.
WEFT_VECTORIZE void Step(EwOp op, const float *__restrict a, const float *__restrict b,
                         const float *__restrict c, float imm, float *__restrict y, int64_t n) {
  switch (op) {
    case EwOp::kAdd: for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i]; break;
    case EwOp::kSub: for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i]; break;
    case EwOp::kMul: for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i]; break;
    case EwOp::kDiv: for (int64_t i = 0; i < n; ++i) y[i] = a[i] / b[i]; break;
    case EwOp::kMax: for (int64_t i = 0; i < n; ++i) y[i] = std::max(a[i], b[i]); break;
    case EwOp::kMin: for (int64_t i = 0; i < n; ++i) y[i] = std::min(a[i], b[i]); break;
    case EwOp::kPow: for (int64_t i = 0; i < n; ++i) y[i] = std::pow(a[i], b[i]); break;
    case EwOp::kNeg: for (int64_t i = 0; i < n; ++i) y[i] = -a[i]; break;
    case EwOp::kExp: for (int64_t i = 0; i < n; ++i) y[i] = FastExp(a[i]); break;
    case EwOp::kLog: for (int64_t i = 0; i < n; ++i) y[i] = std::log(a[i]); break;
    case EwOp::kSqrt: for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(a[i]); break;
    case EwOp::kRsqrt: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / std::sqrt(a[i]); break;
    case EwOp::kTanh: for (int64_t i = 0; i < n; ++i) y[i] = FastTanh(a[i]); break;
    case EwOp::kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + FastExp(-a[i]));
      break;
    case EwOp::kRelu: for (int64_t i = 0; i < n; ++i) y[i] = std::max(a[i], 0.0f); break;
    case EwOp::kSilu:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] / (1.0f + FastExp(-a[i]));
      break;
    case EwOp::kGelu:
      for (int64_t i = 0; i < n; ++i)
        y[i] = 0.5f * a[i] * (1.0f + FastErf(a[i] * 0.70710678118654752f));
      break;
    case EwOp::kGeluTanh:
      for (int64_t i = 0; i < n; ++i) {
        float x = a[i];
        y[i] = 0.5f * x * (1.0f + FastTanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
      }
      break;
    // Gradients: a is x (or y where noted), b is dy.
    case EwOp::kReluGrad:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] > 0.0f ? b[i] : 0.0f;
      break;
    case EwOp::kSiluGrad:
      for (int64_t i = 0; i < n; ++i) {
        const float s = 1.0f / (1.0f + FastExp(-a[i]));
        y[i] = b[i] * s * (1.0f + a[i] * (1.0f - s));
      }
      break;
    case EwOp::kSigmoidGrad:  // a = y
      for (int64_t i = 0; i < n; ++i) y[i] = b[i] * a[i] * (1.0f - a[i]);
      break;
    case EwOp::kTanhGrad:  // a = y
      for (int64_t i = 0; i < n; ++i) y[i] = b[i] * (1.0f - a[i] * a[i]);
      break;
    case EwOp::kGeluGrad:
      // d/dx x Phi(x) = Phi(x) + x phi(x)
      for (int64_t i = 0; i < n; ++i) {
        const float x = a[i];
        const float cdf = 0.5f * (1.0f + FastErf(x * 0.70710678118654752f));
        const float pdf = 0.3989422804014327f * FastExp(-0.5f * x * x);
        y[i] = b[i] * (cdf + x * pdf);
      }
      break;
    case EwOp::kGeluTanhGrad:
      for (int64_t i = 0; i < n; ++i) {
        const float x = a[i];
        const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        const float t = FastTanh(u);
        const float du = 0.79788456080286536f * (1.0f + 0.134145f * x * x);
        y[i] = b[i] * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
      }
      break;
    case EwOp::kMaxGrad:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] >= b[i] ? c[i] : 0.0f;
      break;
    case EwOp::kMinGrad:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] <= b[i] ? c[i] : 0.0f;
      break;
    case EwOp::kScale:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] * imm;
      break;
  }
}

// Integer programs: the ops the IR allows on integers. Division by zero
// gives 0 rather than trapping.
void Step(EwOp op, const int64_t *a, const int64_t *b, const int64_t *, float, int64_t *y,
          int64_t n) {
  switch (op) {
    case EwOp::kAdd: for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i]; break;
    case EwOp::kSub: for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i]; break;
    case EwOp::kMul: for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i]; break;
    case EwOp::kDiv:
      for (int64_t i = 0; i < n; ++i) y[i] = b[i] == 0 ? 0 : a[i] / b[i];
      break;
    case EwOp::kMax: for (int64_t i = 0; i < n; ++i) y[i] = std::max(a[i], b[i]); break;
    case EwOp::kMin: for (int64_t i = 0; i < n; ++i) y[i] = std::min(a[i], b[i]); break;
    case EwOp::kNeg: for (int64_t i = 0; i < n; ++i) y[i] = -a[i]; break;
    case EwOp::kRelu: for (int64_t i = 0; i < n; ++i) y[i] = std::max<int64_t>(a[i], 0); break;
    default: for (int64_t i = 0; i < n; ++i) y[i] = 0; break;  // not reachable from valid IR
  }
}

template <typename T>
void Run(const FusedKernel &k, const std::vector<const void *> &operands,
         const std::vector<DType> &operand_types, const std::vector<void *> &results,
         const std::vector<DType> &result_types) {
  const int64_t rank = k.shape.size();
  const int64_t inner = rank ? k.shape.back() : 1;
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < rank; ++i) rows *= k.shape[i];
  if (inner == 0 || rows == 0) return;
  const int64_t tiles_per_row = (inner + kTile - 1) / kTile;
  const int64_t tiles = rows * tiles_per_row;
  const size_t regs = k.loads.size() + k.steps.size();
  // Contiguous output strides over the fused shape.
  const int64_t total = rows * inner;

#pragma omp parallel if (total > 16384)
  {
    std::vector<T> reg(regs * kTile);
    std::vector<int64_t> index(rank > 0 ? rank - 1 : 0);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t row = t / tiles_per_row;
      const int64_t start = (t % tiles_per_row) * kTile;
      const int64_t n = std::min(kTile, inner - start);
      // The row's multi-index over the outer dimensions.
      for (int64_t d = rank - 2, r = row; d >= 0; --d) {
        index[d] = r % k.shape[d];
        r /= k.shape[d];
      }
      for (size_t l = 0; l < k.loads.size(); ++l) {
        const FusedKernel::Load &load = k.loads[l];
        int64_t base = 0;
        for (int64_t d = 0; d + 1 < rank; ++d) base += index[d] * load.strides[d];
        const int64_t step = rank ? load.strides[rank - 1] : 0;
        T *dst = &reg[l * kTile];
        const void *src = operands[load.operand];
        const DType type = operand_types[load.operand];
        if (step == 0) {
          std::fill(dst, dst + n, LoadOne<T>(src, type, base));
        } else if (step == 1 && type == DType::kF32 && std::is_same<T, float>::value) {
          std::copy_n(static_cast<const float *>(src) + base + start, n,
                      reinterpret_cast<float *>(dst));
        } else {
          for (int64_t i = 0; i < n; ++i) dst[i] = LoadOne<T>(src, type, base + (start + i) * step);
        }
      }
      for (size_t s = 0; s < k.steps.size(); ++s) {
        const FusedKernel::Step &st = k.steps[s];
        Step(st.op, &reg[st.a * kTile], &reg[st.b * kTile], &reg[st.c * kTile], st.imm,
             &reg[(k.loads.size() + s) * kTile], n);
      }
      const int64_t out_base = row * inner + start;
      for (size_t o = 0; o < k.outputs.size(); ++o) {
        const T *src = &reg[k.outputs[o] * kTile];
        if (result_types[o] == DType::kF32 && std::is_same<T, float>::value) {
          std::copy_n(reinterpret_cast<const float *>(src), n,
                      static_cast<float *>(results[o]) + out_base);
        } else {
          for (int64_t i = 0; i < n; ++i) StoreOne<T>(results[o], result_types[o], out_base + i, src[i]);
        }
      }
    }
  }
}

}  // namespace

void RunFused(const FusedKernel &k, const std::vector<const void *> &operands,
              const std::vector<DType> &operand_types, const std::vector<void *> &results,
              const std::vector<DType> &result_types) {
  if (k.integer)
    Run<int64_t>(k, operands, operand_types, results, result_types);
  else
    Run<float>(k, operands, operand_types, results, result_types);
}

}  // namespace weft::cpu

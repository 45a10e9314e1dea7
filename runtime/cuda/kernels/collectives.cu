// TEMPORARY: a simple ReduceBuffers (kernels.h) so that the cuda-inprocess
// communicator links before the CUDA kernels branch, which implements it,
// is merged; that branch's version replaces this file. One thread per
// element; the arithmetic is the inprocess communicator's
// (collectives/inprocess.cc), operation for operation, so the results are
// bit-identical: f32 adds in float, i32/i64 in their type, bf16/f16 widen to
// float, add in rank order and round to nearest even once at the end.
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"

namespace weft::cuda {
namespace {

constexpr int kMaxParts = 256;
constexpr int kThreads = 256;

struct Parts {
  const void *p[kMaxParts];
};

__device__ float Bf16ToF32(uint16_t x) { return __uint_as_float(static_cast<uint32_t>(x) << 16); }

__device__ uint16_t F32ToBf16(float x) {
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

__device__ float F16ToF32(uint16_t x) {
  const uint32_t sign = static_cast<uint32_t>(x & 0x8000) << 16;
  const uint32_t exp = (x >> 10) & 0x1f, mant = x & 0x3ff;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 0x1p-24f;  // exact
    return sign ? -v : v;
  }
  if (exp == 31) return __uint_as_float(sign | 0x7f800000 | (mant << 13));
  return __uint_as_float(sign | ((exp + 112) << 23) | (mant << 13));
}

__device__ uint16_t F32ToF16(float x) {
  const uint32_t u = __float_as_uint(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a >= 0x38800000) {
    const uint32_t r = a - (112u << 23) + 0xfff + ((a >> 13) & 1);
    return sign | static_cast<uint16_t>(r >> 13);
  }
  const int e = static_cast<int>(a >> 23);
  const int shift = 126 - e;
  if (e == 0 || shift > 24) return sign;
  const uint32_t m = (a & 0x7fffff) | 0x800000;
  uint32_t r = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1))) ++r;
  return sign | static_cast<uint16_t>(r);
}

// f32, i32, i64: in the element type (kind: ReduceKind of communicator.h).
template <typename T>
__global__ void ReduceNative(Parts parts, int n, T *out, int64_t count, int kind) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  T acc = static_cast<const T *>(parts.p[0])[i];
  for (int r = 1; r < n; ++r) {
    const T v = static_cast<const T *>(parts.p[r])[i];
    if (kind == 2) acc = v > acc ? v : acc;
    else if (kind == 3) acc = v < acc ? v : acc;
    else acc += v;
  }
  if (kind == 1) acc = static_cast<T>(acc / static_cast<T>(n));
  out[i] = acc;
}

// bf16 / f16: widened to float in rank order, rounded once.
template <bool kBf16>
__global__ void ReduceHalf(Parts parts, int n, uint16_t *out, int64_t count, int kind) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  auto load = [&](int r) {
    const uint16_t x = static_cast<const uint16_t *>(parts.p[r])[i];
    return kBf16 ? Bf16ToF32(x) : F16ToF32(x);
  };
  float acc = load(0);
  for (int r = 1; r < n; ++r) {
    const float v = load(r);
    if (kind == 2) acc = acc < v ? v : acc;       // std::max(acc, v)
    else if (kind == 3) acc = v < acc ? v : acc;  // std::min(acc, v)
    else acc = acc + v;
  }
  if (kind == 1) acc = __fdiv_rn(acc, static_cast<float>(n));
  out[i] = kBf16 ? F32ToBf16(acc) : F32ToF16(acc);
}

}  // namespace

absl::Status ReduceBuffers(const void *const *parts, int num_parts, void *out, int64_t count,
                           DType dtype, int kind, cudaStream_t stream) {
  if (num_parts < 1 || num_parts > kMaxParts)
    return absl::InvalidArgumentError(
        absl::StrCat("ReduceBuffers: ", num_parts, " buffers; 1 to ", kMaxParts, " supported"));
  if (kind < 0 || kind > 3)
    return absl::InvalidArgumentError(absl::StrCat("ReduceBuffers: no reduction kind ", kind));
  if (count == 0) return absl::OkStatus();
  Parts p{};
  for (int r = 0; r < num_parts; ++r) p.p[r] = parts[r];
  const unsigned blocks = static_cast<unsigned>((count + kThreads - 1) / kThreads);
  switch (dtype) {
    case DType::kF32:
      ReduceNative<float><<<blocks, kThreads, 0, stream>>>(p, num_parts, static_cast<float *>(out), count, kind);
      break;
    case DType::kI32:
      ReduceNative<int32_t><<<blocks, kThreads, 0, stream>>>(p, num_parts, static_cast<int32_t *>(out), count, kind);
      break;
    case DType::kI64:
      ReduceNative<int64_t><<<blocks, kThreads, 0, stream>>>(p, num_parts, static_cast<int64_t *>(out), count, kind);
      break;
    case DType::kBF16:
      ReduceHalf<true><<<blocks, kThreads, 0, stream>>>(p, num_parts, static_cast<uint16_t *>(out), count, kind);
      break;
    case DType::kF16:
      ReduceHalf<false><<<blocks, kThreads, 0, stream>>>(p, num_parts, static_cast<uint16_t *>(out), count, kind);
      break;
  }
  WEFT_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return absl::OkStatus();
}

}  // namespace weft::cuda

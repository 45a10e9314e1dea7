// Element conversions shared by the layout and collective kernels: bf16 and
// f16 to and from f32, integers to floats in one rounding, floats to
// integers as x86 truncates. Bit for bit the CPU kernel's (cpu::Cast).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_CONVERT_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_CONVERT_CUH

#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

// bf16 and f16 to and from f32, round to nearest even: bit for bit the CPU
// kernel's conversions (cpu::F32ToBf16 ...), NaN and overflow included.
__device__ __forceinline__ float Bf16ToF32(uint16_t x) {
  return __uint_as_float(static_cast<uint32_t>(x) << 16);
}

__device__ __forceinline__ uint16_t F32ToBf16(float x) {
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float F16ToF32(uint16_t x) {
  const uint32_t sign = static_cast<uint32_t>(x & 0x8000) << 16;
  const uint32_t exp = (x >> 10) & 0x1f, mant = x & 0x3ff;
  if (exp == 0) {
    const float v = ldexpf(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return __uint_as_float(sign | 0x7f800000u | (mant << 13));
  return __uint_as_float(sign | ((exp + 112) << 23) | (mant << 13));
}

__device__ __forceinline__ uint16_t F32ToF16(float x) {
  const uint32_t u = __float_as_uint(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00 | ((a >> 13) & 0x3ff);
  if (a >= 0x477ff000u) return sign | 0x7c00;
  if (a >= 0x38800000u) {
    const uint32_t r = a - (112u << 23) + 0xfffu + ((a >> 13) & 1u);
    return sign | static_cast<uint16_t>(r >> 13);
  }
  const int e = static_cast<int>(a >> 23);
  const int shift = 126 - e;
  if (e == 0 || shift > 24) return sign;
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  uint32_t r = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1u))) ++r;
  return sign | static_cast<uint16_t>(r);
}

// An integer rounded to `bits` significant bits (nearest even), exactly, as
// a double: integers reach bf16/f16 in one rounding, as on the CPU.
__device__ __forceinline__ double RoundIntToBits(int64_t v, int bits) {
  const bool neg = v < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int top = 63;
  while (top >= 0 && !((u >> top) & 1u)) --top;
  const int shift = top + 1 - bits;
  if (shift > 0) {
    uint64_t r = u >> shift;
    const uint64_t rem = u & ((uint64_t{1} << shift) - 1);
    const uint64_t half = uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    const double d = ldexp(static_cast<double>(r), shift);
    return neg ? -d : d;
  }
  return neg ? -static_cast<double>(u) : static_cast<double>(u);
}

// Float to integer, truncating; NaN and out-of-range give the integer's
// minimum, as x86 (and so numpy and the CPU kernel) does.
template <typename I>
__device__ __forceinline__ I FloatToInt(float f) {
  const float limit = ldexpf(1.0f, sizeof(I) == 4 ? 31 : 63);
  if (!(f >= -limit && f < limit))
    return static_cast<I>(sizeof(I) == 4 ? static_cast<int64_t>(INT32_MIN) : INT64_MIN);
  return static_cast<I>(f);
}

}  // namespace weft::cuda::kernels

#endif

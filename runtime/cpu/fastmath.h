// Branch-free float approximations of exp, tanh and erf that the compiler
// vectorises (libm's scalar calls are not: they made a GELU over 6M elements
// take 50 ms). Accuracy: exp within 2 ulp over [-87, 88]; tanh and erf within
// 3e-7 absolute, well inside the 1e-4 relative tolerance of the tests.
// Written here rather than taken from a library because the candidates
// (SLEEF, xsimd) are not packaged for this toolchain; the polynomials are
// Cephes' expf and Abramowitz-Stegun 7.1.26.
#ifndef WEFT_RUNTIME_CPU_FASTMATH_H
#define WEFT_RUNTIME_CPU_FASTMATH_H

#include <cstdint>
#include <cstring>

// Hot loops get an AVX-512, an AVX2 and a baseline version, picked at load
// time by the CPU, so one binary runs everywhere and fast where it can.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define WEFT_VECTORIZE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WEFT_VECTORIZE
#endif

namespace weft::cpu {

inline float FastExp(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  // x = n ln2 + r, |r| <= ln2/2; exp(r) by a degree-6 polynomial.
  // Round to nearest by the 1.5 * 2^23 trick: plain adds, so it vectorises
  // on every x86 (floorf needs SSE4.1 to stay inline).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // Scale by 2^n through the exponent bits.
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

inline float FastTanh(float x) {
  const float a = x < 0 ? -x : x;
  // Near zero 1 - 2/(e^2a + 1) cancels; an odd polynomial is exact enough there.
  const float x2 = x * x;
  const float small = x * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  const float t = 1.0f - 2.0f / (FastExp(2.0f * a) + 1.0f);
  const float big = x < 0 ? -t : t;
  return a < 0.125f ? small : big;
}

inline float FastErf(float x) {
  const float a = x < 0 ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.0f - poly * FastExp(-a * a);
  return x < 0 ? -y : y;
}

/// max over x[0..n).
float RowMax(const float *x, int64_t n);
/// y[i] = exp(x[i] - shift) (y may be x, or null to only sum); returns the sum.
float ExpShifted(const float *x, float *y, int64_t n, float shift);

}  // namespace weft::cpu

#endif

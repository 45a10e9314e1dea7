#include "runtime/cpu/fastmath.h"

#include <limits>

namespace weft::cpu {

WEFT_VECTORIZE float RowMax(const float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

WEFT_VECTORIZE float ExpShifted(const float *x, float *y, int64_t n, float shift) {
  float sum = 0;
  if (y == nullptr) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += FastExp(x[i] - shift);
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
      const float e = FastExp(x[i] - shift);
      y[i] = e;
      sum += e;
    }
  }
  return sum;
}

}  // namespace weft::cpu

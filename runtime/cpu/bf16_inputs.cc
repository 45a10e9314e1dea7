#include "runtime/cpu/bf16_inputs.h"

#include <memory>

#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"

namespace weft::cpu {

namespace {

constexpr int64_t kParallelElements = 32 * 1024;

// A rounded copy of n floats; uninitialised until RoundToBf16 fills it.
std::unique_ptr<float[]> Rounded(const float *src, int64_t n) {
  std::unique_ptr<float[]> out(new float[n > 0 ? n : 1]);
  RoundToBf16(src, out.get(), n);
  return out;
}

}  // namespace

void RoundToBf16(const float *src, float *dst, int64_t n) {
#pragma omp parallel for if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(F32ToBf16(src[i]));
}

void MatmulBf16Inputs(const float *a, const float *b, float *c, int64_t batch, int64_t m,
                      int64_t n, int64_t k, bool transpose_a, bool transpose_b, bool b_batched) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int64_t a_size = batch * m * k, b_size = (b_batched ? batch : 1) * k * n;
  auto ra = Rounded(a, a_size), rb = Rounded(b, b_size);
  Matmul(ra.get(), rb.get(), c, batch, m, n, k, transpose_a, transpose_b, b_batched);
}

void AttentionBf16Inputs(const float *q, const float *k, const float *v, float *out, int64_t b,
                         int64_t h, int64_t sq, int64_t sk, int64_t dh, int64_t dv, bool causal,
                         float scale) {
  const int64_t heads = b * h;
  auto rq = Rounded(q, heads * sq * dh), rk = Rounded(k, heads * sk * dh),
       rv = Rounded(v, heads * sk * dv);
  Attention(rq.get(), rk.get(), rv.get(), out, b, h, sq, sk, dh, dv, causal, scale);
}

void AttentionGradBf16Inputs(const float *q, const float *k, const float *v, const float *dout,
                             float *dq, float *dk, float *dv, int64_t b, int64_t h, int64_t sq,
                             int64_t sk, int64_t dh, int64_t dvdim, bool causal, float scale) {
  const int64_t heads = b * h;
  auto rq = Rounded(q, heads * sq * dh), rk = Rounded(k, heads * sk * dh),
       rv = Rounded(v, heads * sk * dvdim), rdout = Rounded(dout, heads * sq * dvdim);
  AttentionGrad(rq.get(), rk.get(), rv.get(), rdout.get(), dq, dk, dv, b, h, sq, sk, dh, dvdim,
                causal, scale);
}

}  // namespace weft::cpu

// Attention and its gradient: softmax(q k^T * scale [causal]) v for q [b, h,
// sq, dh], k [b, h, sk, dh], v [b, h, sk, dv], the twins of cpu::Attention
// and cpu::AttentionGrad. Query i of a causal head sees keys 0..i.
//
// Correctness first: one thread per (batch, head, query row) runs an online
// (flash-style) softmax over the keys, accumulating its output row in place
// (in global memory: its length is not known at compile time), so no
// S x S matrix is ever stored. The gradient is three passes, with no scratch:
//   1. per query row: lse = logsumexp of its scores and D = sum_j P_ij dP_ij
//      (= dout_i . out_i), parked in the first two elements of its dq row;
//   2. per key row j: dv_j = sum_i P_ij dout_i, dk_j = scale sum_i dS_ij q_i,
//      with P_ij = exp(s_ij - lse_i) recomputed and dS = P (dP - D);
//   3. per query row: dq_i = scale sum_j dS_ij k_j (reading its lse and D
//      before it overwrites them).
// With dh < 2 there is no room in dq, and passes 2 and 3 recompute lse and D
// (quadratic per row; only for such tiny heads).
// The fast one is FlashAttention-2/3: a block per tile of query rows, K and
// V tiles staged through shared memory (TMA on sm_90), the products on
// tensor cores (wgmma), accumulators in registers, and lse saved by the
// forward pass for the backward.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_ATTENTION_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_ATTENTION_CUH

#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

/// The shapes of one attention, passed by value to the kernels.
struct AttentionShape {
  int64_t heads, sq, sk, dh, dv;
  bool causal;
  float scale;
  /// Keys that query i sees.
  __device__ int64_t Seen(int64_t i) const { return causal ? (i + 1 < sk ? i + 1 : sk) : sk; }
};

__device__ __forceinline__ float Dot(const float *a, const float *b, int64_t n) {
  float s = 0.0f;
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}

// The same in double, for the gradient, where dS = P (dP - D) cancels.
__device__ __forceinline__ double DotD(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += static_cast<double>(a[c]) * b[c];
  return s;
}

/// One thread per query row: the online softmax, rescaling the running
/// output row whenever the running max grows.
__global__ void AttentionKernel(const float *q, const float *k, const float *v, float *out,
                                AttentionShape a) {
  for (int64_t row = FirstItem(); row < a.heads * a.sq; row += ItemStride()) {
    const int64_t hd = row / a.sq, i = row % a.sq, seen = a.Seen(i);
    const float *qi = q + row * a.dh, *kh = k + hd * a.sk * a.dh, *vh = v + hd * a.sk * a.dv;
    float *o = out + row * a.dv;
    for (int64_t c = 0; c < a.dv; ++c) o[c] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = 0; j < seen; ++j) {
      const float s = a.scale * Dot(qi, kh + j * a.dh, a.dh);
      const float *vj = vh + j * a.dv;
      if (s > m) {  // a new max: rescale what is there (exp(-inf) = 0 at first)
        const float corr = expf(m - s);
        l = l * corr + 1.0f;
        for (int64_t c = 0; c < a.dv; ++c) o[c] = o[c] * corr + vj[c];
        m = s;
      } else {
        const float p = expf(s - m);
        l += p;
        for (int64_t c = 0; c < a.dv; ++c) o[c] += p * vj[c];
      }
    }
    if (seen > 0) {
      const float inv = 1.0f / l;
      for (int64_t c = 0; c < a.dv; ++c) o[c] *= inv;
    }
  }
}

template <typename Launch>
void AttentionRun(const Launch &launch, const float *q, const float *k, const float *v,
                  float *out, const AttentionShape &a) {
  if (a.heads <= 0 || a.sq <= 0 || a.dv <= 0) return;
  launch(AttentionKernel, a.heads * a.sq, q, k, v, out, a);
}

/// Query row `row`'s logsumexp and D = sum_j P_ij (dout_i . v_j), D summed
/// in double (as the CPU kernel's rowsum(dP * P)).
__device__ __forceinline__ void AttentionRowStats(const float *q, const float *k, const float *v,
                                                  const float *dout, const AttentionShape &a,
                                                  int64_t row, float &lse, float &D) {
  const int64_t hd = row / a.sq, i = row % a.sq, seen = a.Seen(i);
  const float *qi = q + row * a.dh, *kh = k + hd * a.sk * a.dh, *vh = v + hd * a.sk * a.dv;
  const float *doi = dout + row * a.dv;
  lse = 0.0f;
  D = 0.0f;
  if (seen == 0) return;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j = 0; j < seen; ++j) {
    const float s = a.scale * Dot(qi, kh + j * a.dh, a.dh);
    if (s > m) {
      l = l * expf(m - s) + 1.0f;
      m = s;
    } else {
      l += expf(s - m);
    }
  }
  lse = m + logf(l);
  double d = 0;
  for (int64_t j = 0; j < seen; ++j) {
    const float p = expf(a.scale * Dot(qi, kh + j * a.dh, a.dh) - lse);
    d += static_cast<double>(p) * Dot(doi, vh + j * a.dv, a.dv);
  }
  D = static_cast<float>(d);
}

// Whether a row's lse and D are parked in its dq row.
__device__ __forceinline__ bool StatsInDq(const AttentionShape &a) { return a.dh >= 2; }

/// Pass 1: per query row, lse and D into dq[row, 0..1].
__global__ void AttentionGradStatsKernel(const float *q, const float *k, const float *v,
                                         const float *dout, float *dq, AttentionShape a) {
  for (int64_t row = FirstItem(); row < a.heads * a.sq; row += ItemStride()) {
    float lse, D;
    AttentionRowStats(q, k, v, dout, a, row, lse, D);
    dq[row * a.dh] = lse;
    dq[row * a.dh + 1] = D;
  }
}

__device__ __forceinline__ void AttentionStatsOf(const float *q, const float *k, const float *v,
                                                 const float *dout, const float *dq,
                                                 const AttentionShape &a, int64_t row, float &lse,
                                                 float &D) {
  if (StatsInDq(a)) {
    lse = dq[row * a.dh];
    D = dq[row * a.dh + 1];
  } else {
    AttentionRowStats(q, k, v, dout, a, row, lse, D);
  }
}

/// Pass 2: per key row j, dk_j and dv_j over the queries that see it.
__global__ void AttentionGradKeysKernel(const float *q, const float *k, const float *v,
                                        const float *dout, const float *dq, float *dk, float *dv,
                                        AttentionShape a) {
  for (int64_t key = FirstItem(); key < a.heads * a.sk; key += ItemStride()) {
    const int64_t hd = key / a.sk, j = key % a.sk;
    const float *kj = k + key * a.dh, *vj = v + key * a.dv;
    float *dkj = dk + key * a.dh, *dvj = dv + key * a.dv;
    for (int64_t c = 0; c < a.dh; ++c) dkj[c] = 0.0f;
    for (int64_t c = 0; c < a.dv; ++c) dvj[c] = 0.0f;
    for (int64_t i = a.causal ? j : 0; i < a.sq; ++i) {
      const int64_t row = hd * a.sq + i;
      const float *qi = q + row * a.dh, *doi = dout + row * a.dv;
      float lse, D;
      AttentionStatsOf(q, k, v, dout, dq, a, row, lse, D);
      const double p = exp(a.scale * DotD(qi, kj, a.dh) - lse);
      const double ds = p * (DotD(doi, vj, a.dv) - D);
      for (int64_t c = 0; c < a.dv; ++c) dvj[c] += static_cast<float>(p * doi[c]);
      for (int64_t c = 0; c < a.dh; ++c) dkj[c] += static_cast<float>(a.scale * ds * qi[c]);
    }
  }
}

/// Pass 3: per query row, dq_i, after reading the row's lse and D.
__global__ void AttentionGradQueriesKernel(const float *q, const float *k, const float *v,
                                           const float *dout, float *dq, AttentionShape a) {
  for (int64_t row = FirstItem(); row < a.heads * a.sq; row += ItemStride()) {
    const int64_t hd = row / a.sq, i = row % a.sq, seen = a.Seen(i);
    const float *qi = q + row * a.dh, *doi = dout + row * a.dv;
    const float *kh = k + hd * a.sk * a.dh, *vh = v + hd * a.sk * a.dv;
    float lse, D;
    AttentionStatsOf(q, k, v, dout, dq, a, row, lse, D);
    float *dqi = dq + row * a.dh;
    for (int64_t c = 0; c < a.dh; ++c) dqi[c] = 0.0f;
    for (int64_t j = 0; j < seen; ++j) {
      const float *kj = kh + j * a.dh;
      const double p = exp(a.scale * DotD(qi, kj, a.dh) - lse);
      const double ds = p * (DotD(doi, vh + j * a.dv, a.dv) - D);
      for (int64_t c = 0; c < a.dh; ++c) dqi[c] += static_cast<float>(a.scale * ds * kj[c]);
    }
  }
}

template <typename Launch>
void AttentionGradRun(const Launch &launch, const float *q, const float *k, const float *v,
                      const float *dout, float *dq, float *dk, float *dv,
                      const AttentionShape &a) {
  if (a.heads <= 0) return;
  const int64_t sq = a.sq > 0 ? a.sq : 0, sk = a.sk > 0 ? a.sk : 0;
  if (a.dh >= 2) launch(AttentionGradStatsKernel, a.heads * sq, q, k, v, dout, dq, a);
  launch(AttentionGradKeysKernel, a.heads * sk, q, k, v, dout, static_cast<const float *>(dq), dk,
         dv, a);
  if (a.dh > 0) launch(AttentionGradQueriesKernel, a.heads * sq, q, k, v, dout, dq, a);
}

}  // namespace weft::cuda::kernels

#endif

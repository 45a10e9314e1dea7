// The CPU gradient kernels declared in grad_kernels.h.
//
// Determinism: training resumes must be bit-exact, so no result depends on
// thread timing. Every output element is computed by one thread in a fixed
// order, and the sums over rows (dgamma, dbeta) go through partials whose
// partition depends on the sizes alone, added in a fixed order. So results
// are the same bits for any thread count, not just for a fixed one (the
// test checks 1, 3, 8 and the default).
#include "runtime/cpu/grad_kernels.h"

#include "runtime/cpu/blas.h"
#include "runtime/cpu/fastmath.h"
#include "runtime/cpu/kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace weft::cpu {
namespace {

// Below this many elements a parallel region costs more than it saves (as
// in kernels.cc).
constexpr int64_t kParallelElements = 32 * 1024;

// Reads id i of an i32 or i64 array.
int64_t IdAt(const void *ids, DType type, int64_t i) {
  return type == DType::kI32 ? static_cast<const int32_t *>(ids)[i]
                             : static_cast<const int64_t *>(ids)[i];
}

// Checks that ids (`what`, e.g. "embedding id") are i32/i64 and in [0, bound),
// with the forward kernels' messages. Run before writing any output, so a bad
// id leaves the outputs untouched.
absl::Status CheckIds(const void *ids, DType type, int64_t n, int64_t bound,
                      const char *what, const char *where) {
  if (type != DType::kI32 && type != DType::kI64)
    return absl::InvalidArgumentError(absl::StrCat(
        what, "s must be i32 or i64, not ", std::string(DTypeName(type))));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = IdAt(ids, type, i);
    if (id < 0 || id >= bound)
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", id, " at ", where, " ", i, " is outside [0, ", bound, ")"));
  }
  return absl::OkStatus();
}

// Stable softmax in place over one contiguous row (as the forward Attention
// does, so the recomputed probabilities match it).
void SoftmaxRow(float *row, int64_t n) {
  const float max = RowMax(row, n);
  const float sum = ExpShifted(row, row, n, max);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

// c[m, n] = alpha op(a) op(b) + beta c, row-major and packed. The empty cases
// are handled here: BLAS rejects their leading dimensions of 0.
void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
          const float *a, const float *b, float beta, float *c) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // an empty sum
    for (int64_t i = 0; i < m * n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(ta ? m : k), b, static_cast<int>(tb ? k : n),
              beta, c, static_cast<int>(n));
}

// The number of row chunks for a sum over rows: from the sizes alone, so the
// partials (and the bits of the sum) do not depend on the thread count.
int64_t RowChunks(int64_t rows, int64_t d) {
  constexpr int64_t kMaxChunks = 64;  // bounds the partials' memory
  return std::clamp<int64_t>(rows * d / kParallelElements, 1,
                             std::min(rows, kMaxChunks));
}

// out[j] = sum over chunks c of partial[c * stride + j], in chunk order.
void SumChunks(const double *partial, int64_t chunks,
               int64_t stride, int64_t d, float *out) {
  for (int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * stride + j];
    out[j] = static_cast<float>(s);
  }
}

}  // namespace

// ---------------------------------------------------------------- Softmax

void SoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer,
                 int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  const bool parallel = outer * dim * inner > kParallelElements;
  if (inner == 1) {
#pragma omp parallel for if (parallel)
    for (int64_t r = 0; r < outer; ++r) {
      const float *yr = y + r * dim, *dyr = dy + r * dim;
      double s = 0;
      for (int64_t j = 0; j < dim; ++j) s += static_cast<double>(dyr[j]) * yr[j];
      const float sf = static_cast<float>(s);
      for (int64_t j = 0; j < dim; ++j) dx[r * dim + j] = yr[j] * (dyr[j] - sf);
    }
    return;
  }
  // Strided: walk `dim` outside and `inner` inside, so passes read
  // contiguous memory.
#pragma omp parallel for if (parallel)
  for (int64_t o = 0; o < outer; ++o) {
    const float *yo = y + o * dim * inner, *dyo = dy + o * dim * inner;
    float *dxo = dx + o * dim * inner;
    std::vector<double> s(inner, 0.0);
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i)
        s[i] += static_cast<double>(dyo[d * inner + i]) * yo[d * inner + i];
    std::vector<float> sf(s.begin(), s.end());
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i)
        dxo[d * inner + i] = yo[d * inner + i] * (dyo[d * inner + i] - sf[i]);
  }
}

// ---------------------------------------------------------------- Norms

void LayerNormGrad(const float *x, const float *gamma, const float *dy,
                   float *dx, float *dgamma, float *dbeta, int64_t rows,
                   int64_t d, float eps) {
  if (d <= 0) return;
  if (rows <= 0) {  // empty sums
    std::fill(dgamma, dgamma + d, 0.0f);
    std::fill(dbeta, dbeta + d, 0.0f);
    return;
  }
  const int64_t chunks = RowChunks(rows, d);
  std::vector<double> partial(chunks * 2 * d, 0.0);  // per chunk: dgamma, dbeta
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    double *pg = partial.data() + c * 2 * d, *pb = pg + d;
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) {
      const float *xr = x + r * d, *dyr = dy + r * d;
      const auto [mean, inv] = LayerNormRowStats(xr, d, eps);  // as LayerNorm computes them
      // With xhat = (x - mean) * inv and g = dy * gamma:
      //   dx = inv * (g - mean(g) - xhat * mean(g * xhat)),
      // in double: the terms can cancel to far below their size. The sums
      // are taken before dx is written, so dx may alias x or dy.
      double sg = 0, sgx = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double xhat = (xr[j] - mean) * inv, g = static_cast<double>(dyr[j]) * gamma[j];
        sg += g;
        sgx += g * xhat;
        pg[j] += dyr[j] * xhat;
        pb[j] += dyr[j];
      }
      const double mg = sg / d, mgx = sgx / d;
      float *dxr = dx + r * d;
      for (int64_t j = 0; j < d; ++j) {
        const double xhat = (xr[j] - mean) * inv;
        dxr[j] = static_cast<float>(inv * (static_cast<double>(dyr[j]) * gamma[j] - mg - xhat * mgx));
      }
    }
  }
  SumChunks(partial.data(), chunks, 2 * d, d, dgamma);
  SumChunks(partial.data() + d, chunks, 2 * d, d, dbeta);
}

void RmsNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                 float *dgamma, int64_t rows, int64_t d, float eps) {
  if (d <= 0) return;
  if (rows <= 0) {
    std::fill(dgamma, dgamma + d, 0.0f);
    return;
  }
  const int64_t chunks = RowChunks(rows, d);
  std::vector<double> partial(chunks * d, 0.0);  // per chunk: dgamma
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    double *pg = partial.data() + c * d;
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) {
      const float *xr = x + r * d, *dyr = dy + r * d;
      double sq = 0;
      for (int64_t j = 0; j < d; ++j) sq += static_cast<double>(xr[j]) * xr[j];
      const double inv = 1.0 / std::sqrt(sq / d + eps);
      // With g = dy * gamma, d(inv)/dx_j = -inv^3 x_j / d, so
      //   dx = inv * g - x * inv^3 * mean(g * x).
      double sgx = 0;
      for (int64_t j = 0; j < d; ++j) {
        sgx += static_cast<double>(dyr[j]) * gamma[j] * xr[j];
        pg[j] += static_cast<double>(dyr[j]) * xr[j] * inv;
      }
      // In double: the two terms can cancel to far below their size (with
      // d = 1 the answer is O(eps)).
      const double k = inv * inv * inv * sgx / d;
      float *dxr = dx + r * d;
      for (int64_t j = 0; j < d; ++j)
        dxr[j] = static_cast<float>(inv * dyr[j] * gamma[j] - xr[j] * k);
    }
  }
  SumChunks(partial.data(), chunks, d, d, dgamma);
}

// ---------------------------------------------------------------- Embedding

absl::Status EmbeddingGrad(const void *ids, DType id_type, const float *dy,
                           float *dtable, int64_t vocab, int64_t d, int64_t n,
                           int64_t begin, int64_t total) {
  if (total <= 0) total = vocab;
  if (absl::Status s = CheckIds(ids, id_type, n, total, "embedding id", "position");
      !s.ok())
    return s;
  if (vocab <= 0 || d <= 0) return absl::OkStatus();
#pragma omp parallel for if (vocab * d > 4 * kParallelElements)
  for (int64_t r = 0; r < vocab; ++r) std::fill(dtable + r * d, dtable + (r + 1) * d, 0.0f);
  // Threads split the columns, not the ids: each block of columns walks every
  // id in order, so a repeated id's rows are added in id order whatever the
  // threads, and no two threads write one element.
  constexpr int64_t kCols = 64;  // 256 bytes: whole cache lines per thread
  const int64_t blocks = (d + kCols - 1) / kCols;
#pragma omp parallel for if (blocks > 1 && n * d > kParallelElements)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kCols, c1 = std::min(d, c0 + kCols);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = IdAt(ids, id_type, i) - begin;
      if (r < 0 || r >= vocab) continue;  // another shard's
      float *row = dtable + r * d;
      const float *src = dy + i * d;
      for (int64_t c = c0; c < c1; ++c) row[c] += src[c];
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Attention

// Per (batch, head), one OpenMP thread with single-threaded sgemms (see
// blas.h), over blocks of 128 query rows as the forward Attention: a block
// bounds the per-thread scratch to 128 x sk and lets a causal block skip the
// keys after its last row. A block recomputes P and adds its share to dk and
// dv (beta = 1), so one thread owns a head's dk and dv and sums them in
// block order.
void AttentionGrad(const float *q, const float *k, const float *v,
                   const float *dout, float *dq, float *dk, float *dv,
                   int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t dh,
                   int64_t dvdim, bool causal, float scale) {
  const int64_t heads = b * h;
  if (heads <= 0) return;
  if (sk <= 0) {  // no keys: out is 0 whatever q
    std::fill(dq, dq + heads * sq * dh, 0.0f);
    return;
  }
  constexpr int64_t kBlock = 128;
  const bool parallel = heads > 1 && heads * sq * sk > kParallelElements;
  UseOpenMpForBlas();
#pragma omp parallel if (parallel)
  {
    // Per-thread scratch: the probabilities, and dP turned into dS in place.
    std::vector<float> p(std::min(sq, kBlock) * sk), ds(p.size());
#pragma omp for schedule(dynamic)
    for (int64_t hd = 0; hd < heads; ++hd) {
      const float *kh = k + hd * sk * dh, *vh = v + hd * sk * dvdim;
      float *dkh = dk + hd * sk * dh, *dvh = dv + hd * sk * dvdim;
      std::fill(dkh, dkh + sk * dh, 0.0f);
      std::fill(dvh, dvh + sk * dvdim, 0.0f);
      for (int64_t q0 = 0; q0 < sq; q0 += kBlock) {
        const int64_t rows = std::min(kBlock, sq - q0);
        // Causal rows in this block see at most keys 0..q0+rows-1.
        const int64_t keys = causal ? std::min(sk, q0 + rows) : sk;
        const float *qb = q + (hd * sq + q0) * dh;
        const float *dob = dout + (hd * sq + q0) * dvdim;
        float *dqb = dq + (hd * sq + q0) * dh;
        // P = softmax(q k^T * scale), masked.
        Gemm(false, true, rows, keys, dh, scale, qb, kh, 0.0f, p.data());
        for (int64_t i = 0; i < rows; ++i) {
          float *row = p.data() + i * keys;
          const int64_t seen = causal ? std::min(sk, q0 + i + 1) : keys;
          SoftmaxRow(row, seen);
          std::fill(row + seen, row + keys, 0.0f);
        }
        // dv += P^T dout; dP = dout v^T.
        Gemm(true, false, keys, dvdim, rows, 1.0f, p.data(), dob, 1.0f, dvh);
        Gemm(false, true, rows, keys, dvdim, 1.0f, dob, vh, 0.0f, ds.data());
        // dS = P * (dP - rowsum(dP * P)): the softmax's backward.
        for (int64_t i = 0; i < rows; ++i) {
          const float *pr = p.data() + i * keys;
          float *dr = ds.data() + i * keys;
          double s = 0;
          for (int64_t j = 0; j < keys; ++j) s += static_cast<double>(dr[j]) * pr[j];
          const float sf = static_cast<float>(s);
          for (int64_t j = 0; j < keys; ++j) dr[j] = pr[j] * (dr[j] - sf);
        }
        // dq = dS k * scale; dk += dS^T q * scale.
        Gemm(false, false, rows, dh, keys, scale, ds.data(), kh, 0.0f, dqb);
        Gemm(true, false, keys, dh, rows, scale, ds.data(), qb, 1.0f, dkh);
      }
    }
  }
}

// ---------------------------------------------------------------- CrossEntropy

absl::Status CrossEntropyGrad(const float *logits, const void *labels,
                              DType label_type, const float *dloss,
                              float *dlogits, int64_t rows, int64_t classes) {
  if (absl::Status s =
          CheckIds(labels, label_type, rows, classes, "cross-entropy label", "row");
      !s.ok())
    return s;
  if (rows <= 0 || classes <= 0) return absl::OkStatus();
  // The mean's 1/rows and the incoming gradient, as one factor.
  const float g = static_cast<float>(static_cast<double>(*dloss) / rows);
#pragma omp parallel for if (rows * classes > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = logits + r * classes;
    float *out = dlogits + r * classes;
    // Stable softmax: exp(x - max) / sum, scaled by g on the way.
    const float max = RowMax(row, classes);
    const float sum = ExpShifted(row, out, classes, max);
    const float f = g / sum;
    for (int64_t j = 0; j < classes; ++j) out[j] *= f;
    out[IdAt(labels, label_type, r)] -= g;
  }
  return absl::OkStatus();
}

}  // namespace weft::cpu

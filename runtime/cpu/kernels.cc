// The CPU reference kernels declared in kernels.h.
#include "runtime/cpu/kernels.h"

#include "runtime/cpu/blas.h"
#include "runtime/cpu/fastmath.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft::cpu {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelElements = 32 * 1024;

// Stable softmax in place over one contiguous row.
void SoftmaxRow(float *row, int64_t n) {
  const float max = RowMax(row, n);
  const float sum = ExpShifted(row, row, n, max);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

}  // namespace

// ---------------------------------------------------------------- BLAS threads

namespace {

// OpenBLAS runs single-threaded under our OpenMP loops: see blas.h.

// Below this m*n*k a GEMM runs on one thread (OpenBLAS's own cut-off).
constexpr int64_t kParallelGemm = 4 * 65536;

// One row-major sgemm, its rows (or columns, when there are more of them)
// split into one block per OpenMP thread.
void ParallelSgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float *c, int64_t ldc) {
  auto gemm = [&](int64_t mm, int64_t nn, const float *aa, const float *bb,
                  float *cc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, static_cast<int>(mm),
                static_cast<int>(nn), static_cast<int>(k), alpha, aa,
                static_cast<int>(lda), bb, static_cast<int>(ldb), 0.0f, cc,
                static_cast<int>(ldc));
  };
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || m * n * k < kParallelGemm) {
    gemm(m, n, a, b, c);
    return;
  }
  const bool split_rows = m >= n;
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (split_rows) {
      const int64_t r0 = m * t / nt, r1 = m * (t + 1) / nt;
      if (r1 > r0)  // row r of op(a) starts at a + r*lda, or a + r if stored [k, m]
        gemm(r1 - r0, n, a + (ta ? r0 : r0 * lda), b, c + r0 * ldc);
    } else {
      const int64_t c0 = n * t / nt, c1 = n * (t + 1) / nt;
      if (c1 > c0)  // column j of op(b) starts at b + j, or b + j*ldb if stored [n, k]
        gemm(m, c1 - c0, a, b + (tb ? c0 * ldb : c0), c + c0);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------- Matmul

void Matmul(const float *a, const float *b, float *c, int64_t batch, int64_t m,
            int64_t n, int64_t k, bool transpose_a, bool transpose_b,
            bool b_batched) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k <= 0) {  // An empty sum; BLAS would reject the leading dimensions.
    std::fill(c, c + batch * m * n, 0.0f);
    return;
  }
  UseOpenMpForBlas();
  const int64_t lda = transpose_a ? m : k;
  const int64_t ldb = transpose_b ? k : n;
  if (!b_batched && !transpose_a) {
    // The batch rows of a are one [batch*m, k] matrix: one big GEMM.
    ParallelSgemm(false, transpose_b, batch * m, n, k, 1.0f, a, lda, b, ldb,
                  c, n);
    return;
  }
  // One GEMM per batch entry (this OpenBLAS has no cblas_sgemm_batch): with
  // enough entries, one thread each (measured 3.1 ms vs 5.3 ms for OpenBLAS
  // threading 96 entries of 256x64x256), else each split across threads.
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool per_entry = batch >= threads && batch * m * n * k >= kParallelGemm;
  if (per_entry) {
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t i = 0; i < batch; ++i)
      cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                  transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(n), static_cast<int>(k), 1.0f, a + i * m * k,
                  static_cast<int>(lda), b + (b_batched ? i * k * n : 0),
                  static_cast<int>(ldb), 0.0f, c + i * m * n,
                  static_cast<int>(n));
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    ParallelSgemm(transpose_a, transpose_b, m, n, k, 1.0f, a + i * m * k, lda,
                  b + (b_batched ? i * k * n : 0), ldb, c + i * m * n, n);
}

// ---------------------------------------------------------------- Softmax

void Softmax(const float *x, float *y, int64_t outer, int64_t dim,
             int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  const bool parallel = outer * dim * inner > kParallelElements;
  if (inner == 1) {
#pragma omp parallel for if (parallel)
    for (int64_t r = 0; r < outer; ++r) {
      std::copy(x + r * dim, x + (r + 1) * dim, y + r * dim);
      SoftmaxRow(y + r * dim, dim);
    }
    return;
  }
  // Strided softmax: walk `dim` in the outer loop and `inner` in the inner
  // one, so every pass reads contiguous memory.
#pragma omp parallel for if (parallel)
  for (int64_t o = 0; o < outer; ++o) {
    const float *xo = x + o * dim * inner;
    float *yo = y + o * dim * inner;
    std::vector<float> max(inner, -std::numeric_limits<float>::infinity());
    std::vector<double> sum(inner, 0.0);
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i)
        max[i] = std::max(max[i], xo[d * inner + i]);
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        const float e = std::exp(xo[d * inner + i] - max[i]);
        yo[d * inner + i] = e;
        sum[i] += e;
      }
    std::vector<float> inv(inner);
    for (int64_t i = 0; i < inner; ++i) inv[i] = static_cast<float>(1.0 / sum[i]);
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i) yo[d * inner + i] *= inv[i];
  }
}

// ---------------------------------------------------------------- Norms

void LayerNorm(const float *x, const float *gamma, const float *beta, float *y,
               int64_t rows, int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
#pragma omp parallel for if (rows * d > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    const RowStats st = LayerNormRowStats(xr, d, eps);
    const float inv = static_cast<float>(st.inv);
    const float meanf = static_cast<float>(st.mean);
    for (int64_t j = 0; j < d; ++j)
      yr[j] = (xr[j] - meanf) * inv * gamma[j] + beta[j];
  }
}

void RmsNorm(const float *x, const float *gamma, float *y, int64_t rows,
             int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
#pragma omp parallel for if (rows * d > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double sq = 0;
    for (int64_t j = 0; j < d; ++j) sq += static_cast<double>(xr[j]) * xr[j];
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / d + eps));
    for (int64_t j = 0; j < d; ++j) yr[j] = xr[j] * inv * gamma[j];
  }
}

// ---------------------------------------------------------------- Embedding

namespace {

// Reads id i of an i32 or i64 array.
int64_t IdAt(const void *ids, DType type, int64_t i) {
  return type == DType::kI32 ? static_cast<const int32_t *>(ids)[i]
                             : static_cast<const int64_t *>(ids)[i];
}

absl::Status CheckIdType(DType type, const char *what) {
  if (type == DType::kI32 || type == DType::kI64) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " must be i32 or i64, not ", std::string(DTypeName(type))));
}

}  // namespace

absl::Status Embedding(const float *table, int64_t vocab, int64_t d,
                       const void *ids, DType id_type, int64_t n, float *out,
                       int64_t begin, int64_t total) {
  if (absl::Status s = CheckIdType(id_type, "embedding ids"); !s.ok()) return s;
  if (total <= 0) total = vocab;
  // Check every id before writing anything, so a bad id leaves out untouched.
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = IdAt(ids, id_type, i);
    if (id < 0 || id >= total)
      return absl::InvalidArgumentError(
          absl::StrCat("embedding id ", id, " at position ", i,
                       " is outside [0, ", total, ")"));
  }
#pragma omp parallel for if (n * d > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = IdAt(ids, id_type, i) - begin;
    if (row >= 0 && row < vocab)
      std::memcpy(out + i * d, table + row * d, d * sizeof(float));
    else
      std::fill(out + i * d, out + (i + 1) * d, 0.0f);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Attention

// Threading: (batch*head, block of 128 query rows) units run by an OpenMP
// loop, each calling a single-threaded sgemm (see UseOpenMpForBlas). On the
// 2-core machine, b=8 h=12 s=256 dh=64, best of 7 (non-causal / causal):
//   serial loop over heads, OpenBLAS's 2 threads:       37.2 / 24.5 ms
//   OpenMP over heads, OpenBLAS's 2 threads inside:    112.2 / 105.2 ms
//   OpenMP over heads, single-threaded sgemm:           19.1 / 13.7 ms
// The threaded sgemm gains nothing at 256x256x64, and nested in OpenMP it
// oversubscribes. Query blocks bound the scores buffer and let a causal
// block skip the keys after its last row.
void Attention(const float *q, const float *k, const float *v, float *out,
               int64_t b, int64_t h, int64_t sq, int64_t sk, int64_t dh,
               int64_t dv, bool causal, float scale) {
  const int64_t heads = b * h;
  if (heads <= 0 || sq <= 0 || dv <= 0) return;
  if (sk <= 0) {  // No keys: an empty sum.
    std::fill(out, out + heads * sq * dv, 0.0f);
    return;
  }
  constexpr int64_t kBlock = 128;  // query rows per unit; bounds the scores
  const int64_t blocks = (sq + kBlock - 1) / kBlock;
  const int64_t units = heads * blocks;
  const bool parallel = units > 1 && heads * sq * sk > kParallelElements;
  UseOpenMpForBlas();
#pragma omp parallel if (parallel)
  {
    std::vector<float> scores(std::min(sq, kBlock) * sk);
#pragma omp for schedule(dynamic)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t hd = u / blocks;
      const int64_t q0 = (u % blocks) * kBlock;
      const int64_t rows = std::min(kBlock, sq - q0);
      // Causal rows in this block see at most keys 0..q0+rows-1.
      const int64_t keys = causal ? std::min(sk, q0 + rows) : sk;
      const float *qh = q + (hd * sq + q0) * dh;
      const float *kh = k + hd * sk * dh;
      const float *vh = v + hd * sk * dv;
      float *oh = out + (hd * sq + q0) * dv;
      if (dh > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, dh,
                    scale, qh, dh, kh, dh, 0.0f, scores.data(), keys);
      } else {
        std::fill(scores.begin(), scores.begin() + rows * keys, 0.0f);
      }
      for (int64_t i = 0; i < rows; ++i) {
        float *row = scores.data() + i * keys;
        const int64_t seen = causal ? std::min(sk, q0 + i + 1) : keys;
        SoftmaxRow(row, seen);
        std::fill(row + seen, row + keys, 0.0f);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dv, keys,
                  1.0f, scores.data(), keys, vh, dv, 0.0f, oh, dv);
    }
  }
}

// ---------------------------------------------------------------- CrossEntropy

absl::Status CrossEntropy(const float *logits, const void *labels,
                          DType label_type, int64_t rows, int64_t classes,
                          float *loss) {
  if (absl::Status s = CheckIdType(label_type, "cross-entropy labels");
      !s.ok())
    return s;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = IdAt(labels, label_type, r);
    if (label < 0 || label >= classes)
      return absl::InvalidArgumentError(
          absl::StrCat("cross-entropy label ", label, " at row ", r,
                       " is outside [0, ", classes, ")"));
  }
  double total = 0;
#pragma omp parallel for reduction(+ : total) if (rows * classes > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = logits + r * classes;
    const float max = RowMax(row, classes);
    const double sum = ExpShifted(row, nullptr, classes, max);
    total += max + std::log(sum) - row[IdAt(labels, label_type, r)];
  }
  // The mean over no rows is NaN, as numpy's is.
  *loss = static_cast<float>(total / rows);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Reduce

namespace {

// A reduction with adjacent dims of the same kind merged and size-1 dims
// dropped: x is walked in order and each element folded into
// y[sum(index * out_stride)], where a reduced dim has an out_stride of 0.
struct ReducePlan {
  std::vector<int64_t> shape, out_stride;
  std::vector<bool> reduced;
  int64_t out_size = 1, count = 1;  // kept and reduced element counts
};

ReducePlan PlanReduce(const std::vector<int64_t> &shape,
                      const std::vector<bool> &reduce_dim) {
  ReducePlan p;
  for (size_t i = 0; i < shape.size(); ++i) {
    const bool red = i < reduce_dim.size() && reduce_dim[i];
    (red ? p.count : p.out_size) *= shape[i];
    if (shape[i] == 1) continue;
    if (!p.shape.empty() && p.reduced.back() == red) {
      p.shape.back() *= shape[i];
    } else {
      p.shape.push_back(shape[i]);
      p.reduced.push_back(red);
    }
  }
  p.out_stride.assign(p.shape.size(), 0);
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(p.shape.size()) - 1; i >= 0; --i)
    if (!p.reduced[i]) {
      p.out_stride[i] = stride;
      stride *= p.shape[i];
    }
  return p;
}

// Folds x into acc (out_size entries, already holding the identity) with
// fold(acc&, x). Parallel over the first dim when it is kept, so threads
// write disjoint parts of acc.
template <typename T, typename A, typename Fold>
void ReduceInto(const T *x, A *acc, const ReducePlan &p, Fold fold) {
  const int64_t rank = static_cast<int64_t>(p.shape.size());
  if (rank == 0) {  // every dim has size 1
    fold(acc[0], x[0]);
    return;
  }
  const int64_t inner = p.shape.back();
  const bool inner_reduced = p.reduced.back();
  const int64_t outer0 = rank > 1 ? p.shape[0] : 1;
  int64_t per0 = 1;  // elements under one index of dim 0 (when rank > 1)
  for (int64_t i = 1; i < rank; ++i) per0 *= p.shape[i];
  const bool parallel = rank > 1 && !p.reduced[0] &&
                        outer0 * per0 > kParallelElements;
#pragma omp parallel for if (parallel)
  for (int64_t i0 = 0; i0 < outer0; ++i0) {
    // Odometer over dims [1, rank-1) (or none when rank == 1).
    const int64_t first = rank > 1 ? 1 : 0;
    std::vector<int64_t> idx(rank, 0);
    const T *xp = x + i0 * (rank > 1 ? per0 : 0);
    A *base = acc + i0 * (rank > 1 ? p.out_stride[0] : 0);
    int64_t out = 0;
    const int64_t runs = (rank > 1 ? per0 : inner) / inner;
    for (int64_t run = 0; run < runs; ++run) {
      if (inner_reduced) {
        A &a = base[out];
        for (int64_t j = 0; j < inner; ++j) fold(a, xp[j]);
      } else {
        A *ap = base + out;  // inner out_stride is 1
        for (int64_t j = 0; j < inner; ++j) fold(ap[j], xp[j]);
      }
      xp += inner;
      for (int64_t d = rank - 2; d >= first; --d) {
        out += p.out_stride[d];
        if (++idx[d] < p.shape[d]) break;
        out -= p.out_stride[d] * p.shape[d];
        idx[d] = 0;
      }
    }
  }
}

template <typename T, typename A>
void ReduceTyped(const T *x, T *y, const ReducePlan &p, ReduceKind kind,
                 A lowest) {
  if (p.out_size == 0) return;
  std::vector<A> acc(p.out_size, kind == ReduceKind::kMax ? lowest : A(0));
  if (p.count > 0) {
    if (kind == ReduceKind::kMax)
      ReduceInto(x, acc.data(), p, [](A &a, T v) {
        // NaN wins, as in numpy's max.
        if (v > a || v != v) a = v;
      });
    else
      ReduceInto(x, acc.data(), p, [](A &a, T v) { a += v; });
  }
  for (int64_t i = 0; i < p.out_size; ++i) {
    A v = acc[i];
    if (kind == ReduceKind::kMean) v = v / static_cast<A>(p.count);
    y[i] = static_cast<T>(v);
  }
}

}  // namespace

void Reduce(const float *x, float *y, const std::vector<int64_t> &shape,
            const std::vector<bool> &reduce_dim, ReduceKind kind) {
  const ReducePlan p = PlanReduce(shape, reduce_dim);
  // Sums accumulate in double; a mean over no elements is 0/0 = NaN.
  if (kind == ReduceKind::kMax) {
    // Keep max in float so NaN and -inf pass through unchanged.
    ReduceTyped<float, float>(x, y, p, kind,
                              -std::numeric_limits<float>::infinity());
  } else {
    ReduceTyped<float, double>(x, y, p, kind, 0.0);
  }
}

void ReduceInt(const void *x, void *y, DType dtype,
               const std::vector<int64_t> &shape,
               const std::vector<bool> &reduce_dim, ReduceKind kind) {
  const ReducePlan p = PlanReduce(shape, reduce_dim);
  // Integer sums wrap like numpy's fixed-width ones. kMean is not defined for
  // ints; it gets the sum divided by the count, truncated, rather than UB.
  if (dtype == DType::kI32) {
    if (kind == ReduceKind::kMax)
      ReduceTyped<int32_t, int32_t>(static_cast<const int32_t *>(x),
                                    static_cast<int32_t *>(y), p, kind,
                                    std::numeric_limits<int32_t>::min());
    else  // accumulate in i64 and wrap once at the end
      ReduceTyped<int32_t, int64_t>(static_cast<const int32_t *>(x),
                                    static_cast<int32_t *>(y), p, kind, 0);
  } else {
    // Unsigned accumulation makes i64 wrap-around defined.
    if (kind == ReduceKind::kMax) {
      ReduceTyped<int64_t, int64_t>(static_cast<const int64_t *>(x),
                                    static_cast<int64_t *>(y), p, kind,
                                    std::numeric_limits<int64_t>::min());
    } else {
      const int64_t *xi = static_cast<const int64_t *>(x);
      int64_t *yi = static_cast<int64_t *>(y);
      if (p.out_size == 0) return;
      std::vector<uint64_t> acc(p.out_size, 0);
      if (p.count > 0)
        ReduceInto(xi, acc.data(), p,
                   [](uint64_t &a, int64_t v) { a += static_cast<uint64_t>(v); });
      for (int64_t i = 0; i < p.out_size; ++i) {
        int64_t v = static_cast<int64_t>(acc[i]);
        if (kind == ReduceKind::kMean) v /= p.count;
        yi[i] = v;
      }
    }
  }
}

// ---------------------------------------------------------------- CopyStrided

namespace {

// Copies `n` elements of size S from src (stride ss) to dst (stride ds).
template <size_t S>
void CopyRunFixed(const char *src, int64_t ss, char *dst, int64_t ds,
                  int64_t n) {
  if (ss == 0) {  // broadcast: one value, read once
    char v[S];
    std::memcpy(v, src, S);
    for (int64_t j = 0; j < n; ++j) std::memcpy(dst + j * ds * S, v, S);
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    std::memcpy(dst + j * ds * S, src + j * ss * S, S);
}

void CopyRun(const char *src, int64_t ss, char *dst, int64_t ds, int64_t n,
             size_t es) {
  if (ss == 1 && ds == 1) {
    std::memcpy(dst, src, n * es);
    return;
  }
  switch (es) {
    case 1: return CopyRunFixed<1>(src, ss, dst, ds, n);
    case 2: return CopyRunFixed<2>(src, ss, dst, ds, n);
    case 4: return CopyRunFixed<4>(src, ss, dst, ds, n);
    case 8: return CopyRunFixed<8>(src, ss, dst, ds, n);
    default: break;
  }
  if (ss == 0 && ds == 1 && n > 0) {
    // Broadcast of an odd-sized element: fill by doubling memcpy.
    std::memcpy(dst, src, es);
    int64_t done = 1;
    while (done < n) {
      const int64_t m = std::min(done, n - done);
      std::memcpy(dst + done * es, dst, m * es);
      done += m;
    }
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    std::memcpy(dst + j * ds * es, src + j * ss * es, es);
}

}  // namespace

void CopyStrided(const void *src, int64_t src_offset,
                 const std::vector<int64_t> &src_strides, void *dst,
                 int64_t dst_offset, const std::vector<int64_t> &dst_strides,
                 const std::vector<int64_t> &shape, size_t element_size) {
  // Drop size-1 dims, then merge a dim into the next when both strides say
  // they are one contiguous run, so the inner loop is as long as possible.
  std::vector<int64_t> dims, ss, ds;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return;
    if (shape[i] == 1) continue;
    if (!dims.empty() && ss.back() == src_strides[i] * shape[i] &&
        ds.back() == dst_strides[i] * shape[i]) {
      dims.back() *= shape[i];
      ss.back() = src_strides[i];
      ds.back() = dst_strides[i];
    } else {
      dims.push_back(shape[i]);
      ss.push_back(src_strides[i]);
      ds.push_back(dst_strides[i]);
    }
  }
  const char *s = static_cast<const char *>(src) + src_offset * element_size;
  char *d = static_cast<char *>(dst) + dst_offset * element_size;
  const size_t es = element_size;
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) {
    std::memcpy(d, s, es);
    return;
  }
  const int64_t inner = dims.back();
  int64_t outer = 1;
  for (int64_t i = 0; i + 1 < rank; ++i) outer *= dims[i];
  // Each thread takes a contiguous range of inner runs and walks it with an
  // odometer, decoding its start index once.
  const bool parallel =
      outer > 1 && static_cast<int64_t>(outer * inner * es) > 4 * kParallelElements;
#pragma omp parallel if (parallel)
  {
    const int64_t threads = omp_get_num_threads();
    const int64_t t = omp_get_thread_num();
    const int64_t begin = outer * t / threads, end = outer * (t + 1) / threads;
    std::vector<int64_t> idx(rank, 0);
    int64_t so = 0, dof = 0;
    for (int64_t i = rank - 2, rem = begin; i >= 0; --i) {
      idx[i] = rem % dims[i];
      rem /= dims[i];
      so += idx[i] * ss[i];
      dof += idx[i] * ds[i];
    }
    for (int64_t run = begin; run < end; ++run) {
      CopyRun(s + so * static_cast<int64_t>(es), ss.back(),
              d + dof * static_cast<int64_t>(es), ds.back(), inner, es);
      for (int64_t i = rank - 2; i >= 0; --i) {
        so += ss[i];
        dof += ds[i];
        if (++idx[i] < dims[i]) break;
        so -= ss[i] * dims[i];
        dof -= ds[i] * dims[i];
        idx[i] = 0;
      }
    }
  }
}

// ---------------------------------------------------------------- bf16 / f16

namespace {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float Bf16ToF32(uint16_t x) { return BitsFloat(static_cast<uint32_t>(x) << 16); }

uint16_t F32ToBf16(float x) {
  const uint32_t u = FloatBits(x);
  if ((u & 0x7fffffff) > 0x7f800000)  // NaN: keep it a (quiet) NaN
    return static_cast<uint16_t>((u >> 16) | 0x40);
  // Round to nearest even on the 16 dropped bits; a carry that reaches the
  // exponent is the right answer, overflow included (it makes inf).
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

float F16ToF32(uint16_t x) {
  const uint32_t sign = static_cast<uint32_t>(x & 0x8000) << 16;
  const uint32_t exp = (x >> 10) & 0x1f, mant = x & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in f32
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return BitsFloat(sign | 0x7f800000 | (mant << 13));
  return BitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t F32ToF16(float x) {
  const uint32_t u = FloatBits(x);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000)  // NaN: quiet, keeping the top of the payload
    return sign | 0x7e00 | ((a >> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00;  // >= 65520 rounds to inf
  if (a >= 0x38800000) {                      // a normal f16 (>= 2^-14)
    // Rebias the exponent (127 -> 15) and round to nearest even on the 13
    // dropped bits; a mantissa carry moves into the exponent correctly.
    const uint32_t r = a - (112u << 23) + 0xfff + ((a >> 13) & 1);
    return sign | static_cast<uint16_t>(r >> 13);
  }
  // Subnormal f16: a count of 2^-24 units, rounded to nearest even.
  const int e = static_cast<int>(a >> 23);
  const int shift = 126 - e;  // value / 2^-24 = mant24 >> shift
  if (e == 0 || shift > 24) return sign;  // below half the smallest subnormal
  const uint32_t m = (a & 0x7fffff) | 0x800000;
  uint32_t r = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1))) ++r;
  return sign | static_cast<uint16_t>(r);
}

// ---------------------------------------------------------------- Cast

namespace {

// An integer rounded to `bits` significant bits (nearest even), as a double
// that holds it exactly. Integers reach bf16/f16 this way in one rounding:
// through f32 they would be rounded twice (2^25 + 2^17 + 1 would become
// 2^25 in bf16 instead of 2^25 + 2^18).
double RoundIntToBits(int64_t v, int bits) {
  const bool neg = v < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int top = 63;
  while (top >= 0 && !(u >> top & 1)) --top;
  const int shift = top + 1 - bits;
  if (shift > 0) {
    uint64_t r = u >> shift;
    const uint64_t rem = u & ((uint64_t{1} << shift) - 1);
    const uint64_t half = uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) ++r;
    const double d = std::ldexp(static_cast<double>(r), shift);
    return neg ? -d : d;
  }
  return neg ? -static_cast<double>(u) : static_cast<double>(u);
}

// Float to integer, truncating; NaN and out-of-range values give the
// integer's minimum, as x86's cvtt* (and so numpy there) does.
template <typename I>
I FloatToInt(float f) {
  // 2^31 or 2^63: the first float past the top of I.
  const float limit = std::ldexp(1.0f, std::numeric_limits<I>::digits);
  if (!(f >= -limit && f < limit)) return std::numeric_limits<I>::min();
  return static_cast<I>(f);
}

// An element as one of the kinds the conversions go through: an integer
// (exact) or a float (f32 holds every bf16 and f16 exactly).
struct Value {
  bool is_int;
  int64_t i;
  float f;
};

// Load and Store are templates so that each of the 20 pairs gets its own
// loop with no per-element dispatch.
template <DType T>
Value Load(const void *src, int64_t k) {
  if constexpr (T == DType::kF32) return {false, 0, static_cast<const float *>(src)[k]};
  if constexpr (T == DType::kBF16)
    return {false, 0, Bf16ToF32(static_cast<const uint16_t *>(src)[k])};
  if constexpr (T == DType::kF16)
    return {false, 0, F16ToF32(static_cast<const uint16_t *>(src)[k])};
  if constexpr (T == DType::kI32) return {true, static_cast<const int32_t *>(src)[k], 0};
  if constexpr (T == DType::kI64) return {true, static_cast<const int64_t *>(src)[k], 0};
}

template <DType T>
void Store(const Value &v, void *dst, int64_t k) {
  if constexpr (T == DType::kF32)
    static_cast<float *>(dst)[k] = v.is_int ? static_cast<float>(v.i) : v.f;
  if constexpr (T == DType::kBF16)
    static_cast<uint16_t *>(dst)[k] = F32ToBf16(
        v.is_int ? static_cast<float>(RoundIntToBits(v.i, 8)) : v.f);
  if constexpr (T == DType::kF16)
    static_cast<uint16_t *>(dst)[k] = F32ToF16(
        v.is_int ? static_cast<float>(RoundIntToBits(v.i, 11)) : v.f);
  // i64 -> i32 wraps (two's complement), as numpy's astype does.
  if constexpr (T == DType::kI32)
    static_cast<int32_t *>(dst)[k] =
        v.is_int ? static_cast<int32_t>(v.i) : FloatToInt<int32_t>(v.f);
  if constexpr (T == DType::kI64)
    static_cast<int64_t *>(dst)[k] = v.is_int ? v.i : FloatToInt<int64_t>(v.f);
}

template <DType From, DType To>
void CastLoop(const void *src, void *dst, int64_t n) {
#pragma omp parallel for if (n > 4 * kParallelElements)
  for (int64_t k = 0; k < n; ++k) Store<To>(Load<From>(src, k), dst, k);
}

template <DType From>
void CastFrom(const void *src, void *dst, DType to, int64_t n) {
  switch (to) {
    case DType::kF32: return CastLoop<From, DType::kF32>(src, dst, n);
    case DType::kBF16: return CastLoop<From, DType::kBF16>(src, dst, n);
    case DType::kF16: return CastLoop<From, DType::kF16>(src, dst, n);
    case DType::kI32: return CastLoop<From, DType::kI32>(src, dst, n);
    case DType::kI64: return CastLoop<From, DType::kI64>(src, dst, n);
  }
}

}  // namespace

void Cast(const void *src, DType src_type, void *dst, DType dst_type,
          int64_t n) {
  if (n <= 0) return;
  if (src_type == dst_type) {
    std::memcpy(dst, src, n * DTypeSize(src_type));
    return;
  }
  switch (src_type) {
    case DType::kF32: return CastFrom<DType::kF32>(src, dst, dst_type, n);
    case DType::kBF16: return CastFrom<DType::kBF16>(src, dst, dst_type, n);
    case DType::kF16: return CastFrom<DType::kF16>(src, dst, dst_type, n);
    case DType::kI32: return CastFrom<DType::kI32>(src, dst, dst_type, n);
    case DType::kI64: return CastFrom<DType::kI64>(src, dst, dst_type, n);
  }
}

}  // namespace weft::cpu

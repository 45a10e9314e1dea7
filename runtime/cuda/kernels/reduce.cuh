// Reduce and ReduceInt: the twins of cpu::Reduce and cpu::ReduceInt. One
// thread per output element walks its reduced elements in row-major order
// (the CPU kernel's order), summing floats in double as the CPU does.
//
// Correctness first: a thread walks a whole reduction alone, so a reduction
// to few outputs runs on few threads. The fast one should give a row
// reduction to a block (warp shuffles, then shared memory), and reduce a
// leading dimension with a thread per column over coalesced rows.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_REDUCE_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_REDUCE_CUH

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

constexpr int kMaxReduceRank = 8;

/// A reduction with size-1 dimensions dropped and neighbours of the same
/// kind merged; kept and reduced dimensions each with their input strides.
struct ReducePlan {
  int kept_rank = 0, reduced_rank = 0;
  int64_t kept[kMaxReduceRank], kept_stride[kMaxReduceRank];
  int64_t reduced[kMaxReduceRank], reduced_stride[kMaxReduceRank];
  int64_t out_size = 1, count = 1;
};

// The input offset of output element o (row-major over the kept dims).
__device__ __forceinline__ int64_t ReduceBase(const ReducePlan &p, int64_t o) {
  int64_t off = 0;
  for (int d = p.kept_rank - 1; d >= 0; --d) {
    off += (o % p.kept[d]) * p.kept_stride[d];
    o /= p.kept[d];
  }
  return off;
}

// Calls fold(value) on every element reduced into the output at `base`, in
// row-major order, with an odometer over the reduced dims.
template <typename T, typename Fold>
__device__ __forceinline__ void ForEachReduced(const T *x, const ReducePlan &p, int64_t base,
                                               Fold &fold) {
  int64_t idx[kMaxReduceRank] = {0};
  int64_t off = base;
  for (int64_t k = 0; k < p.count; ++k) {
    fold(x[off]);
    for (int d = p.reduced_rank - 1; d >= 0; --d) {
      off += p.reduced_stride[d];
      if (++idx[d] < p.reduced[d]) break;
      off -= p.reduced_stride[d] * p.reduced[d];
      idx[d] = 0;
    }
  }
}

struct FloatMax {
  float acc = -INFINITY;
  __device__ void operator()(float v) {
    if (v > acc || v != v) acc = v;  // NaN wins, as in numpy's max
  }
};
struct FloatSum {
  double acc = 0;
  __device__ void operator()(float v) { acc += v; }
};

/// kind: 0 sum, 1 max, 2 mean (cpu::ReduceKind).
__global__ void ReduceF32Kernel(const float *x, float *y, ReducePlan p, int kind) {
  for (int64_t o = FirstItem(); o < p.out_size; o += ItemStride()) {
    const int64_t base = ReduceBase(p, o);
    if (kind == 1) {
      FloatMax m;
      ForEachReduced(x, p, base, m);
      y[o] = m.acc;
    } else {
      FloatSum s;
      ForEachReduced(x, p, base, s);
      // A mean over no elements is 0/0 = NaN, as numpy's.
      y[o] = static_cast<float>(kind == 2 ? s.acc / static_cast<double>(p.count) : s.acc);
    }
  }
}

template <typename T>
struct IntMax {
  T acc;
  __device__ void operator()(T v) {
    if (v > acc) acc = v;
  }
};
struct IntSum {  // unsigned, so that wrap-around is defined, as numpy's is
  uint64_t acc = 0;
  template <typename T>
  __device__ void operator()(T v) { acc += static_cast<uint64_t>(static_cast<int64_t>(v)); }
};

/// i32 / i64 (T): sums wrap, max, and kind 2 the sum divided by the count,
/// truncated (as the CPU kernel; a mean of nothing is 0 here).
template <typename T>
__global__ void ReduceIntKernel(const T *x, T *y, ReducePlan p, int kind) {
  for (int64_t o = FirstItem(); o < p.out_size; o += ItemStride()) {
    const int64_t base = ReduceBase(p, o);
    if (kind == 1) {
      IntMax<T> m{sizeof(T) == 4 ? static_cast<T>(INT32_MIN) : static_cast<T>(INT64_MIN)};
      ForEachReduced(x, p, base, m);
      y[o] = m.acc;
    } else {
      IntSum s;
      ForEachReduced(x, p, base, s);
      int64_t v = static_cast<int64_t>(s.acc);
      if (kind == 2 && p.count > 0) v /= p.count;
      y[o] = static_cast<T>(static_cast<uint64_t>(v));  // i32 wraps
    }
  }
}

inline absl::Status PlanReduction(const std::vector<int64_t> &shape,
                                  const std::vector<bool> &reduce_dim, int kind, ReducePlan &p) {
  if (kind < 0 || kind > 2)
    return absl::InvalidArgumentError(absl::StrCat("reduce kind ", kind, " is not sum, max or mean"));
  // Merge in the flat row-major view: dims [lo, hi) of one kind are one dim.
  std::vector<int64_t> dims;
  std::vector<bool> red;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      return absl::InvalidArgumentError(absl::StrCat("reduce: dimension ", i, " is ", shape[i]));
    const bool r = i < reduce_dim.size() && reduce_dim[i];
    (r ? p.count : p.out_size) *= shape[i];
    if (shape[i] == 1) continue;
    if (!dims.empty() && red.back() == r) {
      dims.back() *= shape[i];
    } else {
      dims.push_back(shape[i]);
      red.push_back(r);
    }
  }
  int64_t stride = 1;
  std::vector<int64_t> strides(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    int &rank = red[i] ? p.reduced_rank : p.kept_rank;
    if (rank == kMaxReduceRank)
      return absl::InvalidArgumentError(absl::StrCat("reduce over ", shape.size(),
                                                     " dimensions that merge into more than ",
                                                     2 * kMaxReduceRank));
    (red[i] ? p.reduced : p.kept)[rank] = dims[i];
    (red[i] ? p.reduced_stride : p.kept_stride)[rank] = strides[i];
    ++rank;
  }
  return absl::OkStatus();
}

template <typename Launch>
absl::Status ReduceRun(const Launch &launch, const float *x, float *y,
                       const std::vector<int64_t> &shape, const std::vector<bool> &reduce_dim,
                       int kind) {
  ReducePlan p;
  if (absl::Status s = PlanReduction(shape, reduce_dim, kind, p); !s.ok()) return s;
  launch(ReduceF32Kernel, p.out_size, x, y, p, kind);
  return absl::OkStatus();
}

template <typename Launch>
absl::Status ReduceIntRun(const Launch &launch, const void *x, void *y, DType dtype,
                          const std::vector<int64_t> &shape, const std::vector<bool> &reduce_dim,
                          int kind) {
  ReducePlan p;
  if (absl::Status s = PlanReduction(shape, reduce_dim, kind, p); !s.ok()) return s;
  if (dtype == DType::kI32)
    launch(ReduceIntKernel<int32_t>, p.out_size, static_cast<const int32_t *>(x),
           static_cast<int32_t *>(y), p, kind);
  else if (dtype == DType::kI64)
    launch(ReduceIntKernel<int64_t>, p.out_size, static_cast<const int64_t *>(x),
           static_cast<int64_t *>(y), p, kind);
  else
    return absl::InvalidArgumentError(
        absl::StrCat("integer reduce of ", DTypeName(dtype), " (i32 or i64 only)"));
  return absl::OkStatus();
}

}  // namespace weft::cuda::kernels

#endif

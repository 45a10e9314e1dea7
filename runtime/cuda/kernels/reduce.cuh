// Reduce and ReduceInt: the twins of cpu::Reduce and cpu::ReduceInt, floats
// summed in double as the CPU does.
//
// f32 sum, max and mean take one of two fast paths when the reduction,
// after PlanReduction's merging, is one contiguous run of dims:
//  - columns ([outer,] R, C -> [outer,] C: a bias gradient, 8192 x 768 ->
//    768): R is cut into chunks fixed by the shape (ColumnChunks), a thread
//    per (chunk, column) folds its rows with adjacent threads on adjacent
//    columns (coalesced) into a double partial in scratch, then a thread
//    per column folds its chunks in chunk order;
//  - rows (K, C -> K, C innermost: a loss mean): a block per row, or per
//    piece of a row when there are few rows, its threads striding over the
//    row and combining by shuffles (block_reduce.cuh) in double.
// Every fold order is fixed by the shape (rows: and by the block size, which
// the shape fixes too), so results are the same run to run; no atomics.
// Other layouts, tiny reductions and the integer kernels keep a thread per
// output walking its reduced elements in row-major order (the CPU's order).
//
// Faster still: a row piece per warp for mid-sized rows, vector (float4)
// loads, and the bias gradients folded into the weight-gradient GEMM's
// epilogue (cuBLASLt BGRADB) so they never read dy again.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_REDUCE_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_REDUCE_CUH

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/block_reduce.cuh"
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

// ---------------------------------------------------------------- fast f32 paths

/// How ReduceRun splits an f32 reduction, from the plan alone. Columns:
/// x is [outer, reduced, inner], reduced over the middle; rows: x is
/// [outer, reduced], reduced over the last (inner 1). `chunks`: pieces of
/// `reduced`, each folded into a partial.
struct ReduceSplit {
  enum Path { kGeneric, kColumns, kRows };
  Path path = kGeneric;
  int64_t outer = 1, reduced = 1, inner = 1, chunks = 1;
  /// Doubles of scratch for the partials ([outer][chunk][inner]).
  int64_t ScratchDoubles() const { return path != kGeneric && chunks > 1 ? outer * chunks * inner : 0; }
};

/// Enough threads to fill an H100 (132 SMs x 2048); a chunk has at least 8
/// rows, so that a partial is worth its write; 1024 chunks at most.
constexpr int64_t kReduceTargetThreads = int64_t{1} << 18;
constexpr int64_t kMinChunkRows = 8;
constexpr int64_t kMaxChunks = 1024;

/// Chunks of `rows` rows for `columns` column folds (8192 x 768: 342).
inline int64_t ColumnChunks(int64_t columns, int64_t rows) {
  const int64_t want = (kReduceTargetThreads + columns - 1) / columns, most = rows / kMinChunkRows;
  return std::min(std::min(want, most), kMaxChunks);
}

/// Rows at least a warp wide go to blocks; with fewer than 512 rows, a row
/// is cut into pieces of at least 16384 elements, so that a whole-tensor
/// sum still spreads over the GPU.
constexpr int64_t kMinRowWidth = 32;
constexpr int64_t kRowBlocksTarget = 512;
constexpr int64_t kMinRowPiece = 16384;

inline int64_t RowPieces(int64_t rows, int64_t width) {
  if (rows >= kRowBlocksTarget) return 1;
  return std::max<int64_t>(1, std::min((width + kMinRowPiece - 1) / kMinRowPiece, kRowBlocksTarget / rows));
}

inline ReduceSplit SplitReduction(const ReducePlan &p) {
  ReduceSplit s;
  if (p.out_size == 0 || p.count == 0 || p.reduced_rank != 1) return s;
  const int64_t n = p.reduced[0];
  if (p.reduced_stride[0] == 1) {  // [K,] C: reduced innermost
    if (p.kept_rank > 1 || n < kMinRowWidth) return s;
    s.outer = p.out_size;
    s.reduced = n;
    s.chunks = RowPieces(s.outer, n);
    s.path = ReduceSplit::kRows;
  } else if (p.kept_rank <= 2 && p.kept_stride[p.kept_rank - 1] == 1) {  // [O,] R, C
    s.inner = p.kept[p.kept_rank - 1];
    s.outer = p.kept_rank == 2 ? p.kept[0] : 1;
    s.reduced = n;
    s.chunks = ColumnChunks(s.outer * s.inner, n);
    // One chunk is the generic kernel's walk, without the scratch.
    if (s.chunks > 1) s.path = ReduceSplit::kColumns;
  }
  return s;
}

/// The fold of a sum (in double) or a max (NaN wins; a float's max is
/// exact in double), and its neutral element.
struct ReduceOp {
  int kind;
  __device__ __forceinline__ double Identity() const { return kind == 1 ? -INFINITY : 0.0; }
  __device__ __forceinline__ double operator()(double a, double b) const {
    return kind == 1 ? NanMax{}(a, b) : a + b;
  }
};

/// The output from a whole fold: a mean over no elements is 0/0 = NaN, as
/// numpy's (the generic kernel's case: the fast paths never see count 0).
__device__ __forceinline__ float FinishReduce(double acc, int kind, int64_t count) {
  return static_cast<float>(kind == 2 ? acc / static_cast<double>(count) : acc);
}

/// partial[o][c][j] = chunk c's rows of column (o, j) folded in order. Item
/// e is exactly that partial's index, so adjacent threads read adjacent
/// columns of a row.
__global__ void ReduceColumnsKernel(const float *x, ReduceSplit s, int kind, double *partial) {
  const ReduceOp op{kind};
  const int64_t cols = s.inner, chunks = s.chunks, rows = s.reduced;
  for (int64_t e = FirstItem(); e < s.outer * chunks * cols; e += ItemStride()) {
    const int64_t j = e % cols, t = e / cols, c = t % chunks, o = t / chunks;
    const float *col = x + o * rows * cols + j;
    double acc = op.Identity();
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) acc = op(acc, col[r * cols]);
    partial[e] = acc;
  }
}

/// A block per (row, piece): its threads stride over the piece, then
/// combine in the block's fixed tree. With one piece a row the block writes
/// y; else partial[row][piece].
__global__ void __launch_bounds__(1024)
    ReduceRowsKernel(const float *x, ReduceSplit s, int kind, double *partial, float *y) {
  __shared__ double scratch[32];
  const ReduceOp op{kind};
  const int64_t width = s.reduced, pieces = s.chunks;
  for (int64_t b = blockIdx.x; b < s.outer * pieces; b += gridDim.x) {
    const int64_t r = b / pieces, piece = b % pieces;
    const float *row = x + r * width;
    double acc = op.Identity();
    for (int64_t j = width * piece / pieces + threadIdx.x; j < width * (piece + 1) / pieces;
         j += blockDim.x)
      acc = op(acc, row[j]);
    acc = BlockReduce(acc, scratch, op.Identity(), op);
    if (threadIdx.x == 0) {
      if (pieces > 1)
        partial[b] = acc;
      else
        y[r] = FinishReduce(acc, kind, width);
    }
  }
}

/// y[o, j] = the partials of (o, j) folded in chunk order.
__global__ void ReduceChunksKernel(const double *partial, ReduceSplit s, int kind, float *y) {
  const ReduceOp op{kind};
  for (int64_t i = FirstItem(); i < s.outer * s.inner; i += ItemStride()) {
    const double *p = partial + (i / s.inner) * s.chunks * s.inner + i % s.inner;
    double acc = p[0];
    for (int64_t c = 1; c < s.chunks; ++c) acc = op(acc, p[c * s.inner]);
    y[i] = FinishReduce(acc, kind, s.reduced);
  }
}

/// Doubles of scratch ReduceRun needs for plan `p`.
inline int64_t ReduceScratch(const ReducePlan &p) { return SplitReduction(p).ScratchDoubles(); }

/// `p` from PlanReduction (which checks `kind`); `scratch`: ReduceScratch(p)
/// doubles.
template <typename Launch>
void ReduceRun(const Launch &launch, const float *x, float *y, const ReducePlan &p, int kind,
               double *scratch) {
  const ReduceSplit s = SplitReduction(p);
  if (s.path == ReduceSplit::kColumns) {
    launch(ReduceColumnsKernel, s.outer * s.chunks * s.inner, x, s, kind, scratch);
    launch(ReduceChunksKernel, s.outer * s.inner, static_cast<const double *>(scratch), s, kind, y);
  } else if (s.path == ReduceSplit::kRows) {
    const int64_t blocks = s.outer * s.chunks;
    launch.Blocks(ReduceRowsKernel, BlockPerRow(blocks, (s.reduced + s.chunks - 1) / s.chunks), x, s,
                  kind, scratch, y);
    if (s.chunks > 1)
      launch(ReduceChunksKernel, s.outer, static_cast<const double *>(scratch), s, kind, y);
  } else {
    launch(ReduceF32Kernel, p.out_size, x, y, p, kind);
  }
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

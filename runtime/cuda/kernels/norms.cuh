// Softmax's gradient and the normalisations: SoftmaxGrad, LayerNorm(Grad),
// RmsNorm(Grad), the twins of the CPU kernels (kernels.h, grad_kernels.h),
// with their formulas and their double sums.
//
// The norms give a row to a warp (shuffle reductions over coalesced loads);
// their gradients keep row statistics in a scratch buffer and sum dgamma and
// dbeta through per-chunk partials in a fixed order, so results do not
// depend on timing. Strided SoftmaxGrad is still correctness-first (one thread per
// column).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_NORMS_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_NORMS_CUH

#include "runtime/cuda/kernels/block_reduce.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

// ---------------------------------------------------------------- SoftmaxGrad

/// One thread per (outer, inner) column: dx = y * (dy - sum_dim(dy * y)).
/// The sum is taken before dx is written, so dx may alias y or dy.
__global__ void SoftmaxGradKernel(const float *y, const float *dy, float *dx, int64_t outer,
                                  int64_t dim, int64_t inner) {
  for (int64_t c = FirstItem(); c < outer * inner; c += ItemStride()) {
    const int64_t base = (c / inner) * dim * inner + c % inner;
    double s = 0;
    for (int64_t j = 0; j < dim; ++j)
      s += static_cast<double>(dy[base + j * inner]) * y[base + j * inner];
    const float sf = static_cast<float>(s);
    for (int64_t j = 0; j < dim; ++j) {
      const int64_t k = base + j * inner;
      dx[k] = y[k] * (dy[k] - sf);
    }
  }
}

/// Contiguous rows (inner == 1: attention's scores, logits): a block per
/// row, coalesced. The block has the row's sum (in double, as the CPU's)
/// before any thread writes, and each element is read and written by one
/// thread, so dx may alias y or dy.
__global__ void __launch_bounds__(1024)
    SoftmaxGradRowsKernel(const float *y, const float *dy, float *dx, int64_t rows, int64_t dim) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *yr = y + r * dim, *dyr = dy + r * dim;
    double s = 0;
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x)
      s += static_cast<double>(dyr[j]) * yr[j];
    const float sf = static_cast<float>(BlockSum(s, scratch));
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) dx[r * dim + j] = yr[j] * (dyr[j] - sf);
  }
}

template <typename Launch>
void SoftmaxGradRun(const Launch &launch, const float *y, const float *dy, float *dx,
                    int64_t outer, int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  if (inner == 1)
    launch.Blocks(SoftmaxGradRowsKernel, BlockPerRow(outer, dim), y, dy, dx, outer, dim);
  else
    launch(SoftmaxGradKernel, outer * inner, y, dy, dx, outer, dim, inner);
}

// ---------------------------------------------------------------- Param grads
//
// dgamma and dbeta are column sums over rows. They are taken in two steps
// whose order depends only on `rows`, not on the launch: ParamGradChunks
// chunks of consecutive rows, each summed per column by one thread (a
// block covers blockDim consecutive columns of one chunk, so loads are
// coalesced) into a double partial, then the partials summed per column in
// chunk order.

/// Chunks of rows for the column sums: up to 256 (8192 rows: 32 each).
inline int64_t ParamGradChunks(int64_t rows) { return rows < 256 ? rows : 256; }

/// Blocks for the partial sums: a block per (chunk, tile of columns).
inline BlockShape ParamPartialShape(int64_t rows, int64_t d) {
  const int64_t tiles = (d + kWarpRowThreads - 1) / kWarpRowThreads;
  return {CappedBlocks(ParamGradChunks(rows) * tiles), kWarpRowThreads};
}

/// out[j] = sum over chunks c, in order, of partial[c * stride + j].
__global__ void SumChunksKernel(const double *partial, int64_t chunks, int64_t stride, int64_t n,
                                float *out) {
  for (int64_t j = FirstItem(); j < n; j += ItemStride()) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * stride + j];
    out[j] = static_cast<float>(s);
  }
}

/// The (chunk, column) of this thread's item b of a partial-sum loop, or
/// false past the columns. Tiles follow blockDim, so any launch works.
__device__ __forceinline__ bool ChunkColumn(int64_t b, int64_t d, int64_t &chunk, int64_t &j) {
  const int64_t tiles = (d + blockDim.x - 1) / blockDim.x;
  chunk = b / tiles;
  j = (b % tiles) * blockDim.x + threadIdx.x;
  return j < d;
}

// ---------------------------------------------------------------- LayerNorm
//
// A warp per row (WarpPerRow): lane l takes columns l, l + 32, ... (coalesced
// loads), sums in double as the CPU kernels, reduced by shuffles.

// A row's mean and 1/sqrt(var + eps) by its warp: two passes in double, as
// cpu::LayerNormRowStats. Every lane gets them.
__device__ __forceinline__ void WarpLayerNormStats(const float *xr, int64_t d, float eps,
                                                   double &mean, double &inv) {
  double sum = 0;
  for (int64_t j = Lane(); j < d; j += 32) sum += xr[j];
  mean = WarpSum(sum) / d;
  double sq = 0;
  for (int64_t j = Lane(); j < d; j += 32) {
    const double t = xr[j] - mean;
    sq += t * t;
  }
  inv = 1.0 / sqrt(WarpSum(sq) / d + eps);
}

__global__ void LayerNormKernel(const float *x, const float *gamma, const float *beta, float *y,
                                int64_t rows, int64_t d, float eps) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double mean, inv;
    WarpLayerNormStats(xr, d, eps, mean, inv);
    const float invf = static_cast<float>(inv), meanf = static_cast<float>(mean);
    for (int64_t j = Lane(); j < d; j += 32) yr[j] = (xr[j] - meanf) * invf * gamma[j] + beta[j];
  }
}

template <typename Launch>
void LayerNormRun(const Launch &launch, const float *x, const float *gamma, const float *beta,
                  float *y, int64_t rows, int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
  launch.Blocks(LayerNormKernel, WarpPerRow(rows), x, gamma, beta, y, rows, d, eps);
}

/// stats[2r], stats[2r + 1] = row r's mean and inv.
__global__ void LayerNormStatsKernel(const float *x, double *stats, int64_t rows, int64_t d,
                                     float eps) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    double mean, inv;
    WarpLayerNormStats(x + r * d, d, eps, mean, inv);
    if (Lane() == 0) {
      stats[2 * r] = mean;
      stats[2 * r + 1] = inv;
    }
  }
}

/// partial[c][0, d) = sum over chunk c's rows of dy * xhat, partial[c][d,
/// 2d) = of dy (rows of 2d doubles).
__global__ void LayerNormParamPartialKernel(const float *x, const float *dy, const double *stats,
                                            double *partial, int64_t rows, int64_t d,
                                            int64_t chunks) {
  const int64_t tiles = (d + blockDim.x - 1) / blockDim.x;
  for (int64_t b = blockIdx.x; b < chunks * tiles; b += gridDim.x) {
    int64_t c, j;
    if (!ChunkColumn(b, d, c, j)) continue;
    double g = 0, s = 0;
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r) {
      const double xhat = (x[r * d + j] - stats[2 * r]) * stats[2 * r + 1];
      g += dy[r * d + j] * xhat;
      s += dy[r * d + j];
    }
    partial[c * 2 * d + j] = g;
    partial[c * 2 * d + d + j] = s;
  }
}

/// A warp per row: with xhat = (x - mean) * inv and g = dy * gamma,
/// dx = inv * (g - mean(g) - xhat * mean(g * xhat)), in double. A lane reads
/// its elements for the sums, the warp reduces them (every lane has read),
/// then each lane writes its own elements: dx may alias x or dy.
__global__ void LayerNormInputGradKernel(const float *x, const float *gamma, const float *dy,
                                         const double *stats, float *dx, int64_t rows,
                                         int64_t d) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    const double mean = stats[2 * r], inv = stats[2 * r + 1];
    double sg = 0, sgx = 0;
    for (int64_t j = Lane(); j < d; j += 32) {
      const double xhat = (xr[j] - mean) * inv, g = static_cast<double>(dyr[j]) * gamma[j];
      sg += g;
      sgx += g * xhat;
    }
    const double mg = WarpSum(sg) / d, mgx = WarpSum(sgx) / d;
    float *dxr = dx + r * d;
    for (int64_t j = Lane(); j < d; j += 32) {
      const double xhat = (xr[j] - mean) * inv;
      dxr[j] = static_cast<float>(inv * (static_cast<double>(dyr[j]) * gamma[j] - mg - xhat * mgx));
    }
  }
}

/// Doubles of scratch LayerNormGradRun needs: each row's mean and inv, and
/// the column sums' partials.
inline int64_t LayerNormGradScratch(int64_t rows, int64_t d) {
  const int64_t r = rows > 0 ? rows : 0;
  return 2 * r + ParamGradChunks(r) * 2 * (d > 0 ? d : 0);
}

/// `scratch`: LayerNormGradScratch(rows, d) doubles. dgamma and dbeta are
/// summed before dx is written, as dx may alias x or dy.
template <typename Launch>
void LayerNormGradRun(const Launch &launch, const float *x, const float *gamma, const float *dy,
                      float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t d, float eps,
                      double *scratch) {
  if (d <= 0) return;
  const int64_t r = rows > 0 ? rows : 0, chunks = ParamGradChunks(r);
  double *stats = scratch, *partial = scratch + 2 * r;
  launch.Blocks(LayerNormStatsKernel, WarpPerRow(r), x, stats, r, d, eps);
  launch.Blocks(LayerNormParamPartialKernel, ParamPartialShape(r, d), x, dy,
                static_cast<const double *>(stats), partial, r, d, chunks);
  launch(SumChunksKernel, d, static_cast<const double *>(partial), chunks, 2 * d, d, dgamma);
  launch(SumChunksKernel, d, static_cast<const double *>(partial + d), chunks, 2 * d, d, dbeta);
  launch.Blocks(LayerNormInputGradKernel, WarpPerRow(r), x, gamma, dy,
                static_cast<const double *>(stats), dx, r, d);
}

// ---------------------------------------------------------------- RmsNorm

/// 1 / rms of a row, by its warp (every lane gets it).
__device__ __forceinline__ double WarpRmsInv(const float *xr, int64_t d, float eps) {
  double sq = 0;
  for (int64_t j = Lane(); j < d; j += 32) sq += static_cast<double>(xr[j]) * xr[j];
  return 1.0 / sqrt(WarpSum(sq) / d + eps);
}

__global__ void RmsNormKernel(const float *x, const float *gamma, float *y, int64_t rows,
                              int64_t d, float eps) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    const float inv = static_cast<float>(WarpRmsInv(xr, d, eps));
    for (int64_t j = Lane(); j < d; j += 32) yr[j] = xr[j] * inv * gamma[j];
  }
}

template <typename Launch>
void RmsNormRun(const Launch &launch, const float *x, const float *gamma, float *y, int64_t rows,
                int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
  launch.Blocks(RmsNormKernel, WarpPerRow(rows), x, gamma, y, rows, d, eps);
}

__global__ void RmsNormStatsKernel(const float *x, double *inv, int64_t rows, int64_t d,
                                   float eps) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    const double v = WarpRmsInv(x + r * d, d, eps);
    if (Lane() == 0) inv[r] = v;
  }
}

/// partial[c][j] = sum over chunk c's rows of dy * x * inv (rows of d
/// doubles).
__global__ void RmsNormParamPartialKernel(const float *x, const float *dy, const double *inv,
                                          double *partial, int64_t rows, int64_t d,
                                          int64_t chunks) {
  const int64_t tiles = (d + blockDim.x - 1) / blockDim.x;
  for (int64_t b = blockIdx.x; b < chunks * tiles; b += gridDim.x) {
    int64_t c, j;
    if (!ChunkColumn(b, d, c, j)) continue;
    double g = 0;
    for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r)
      g += static_cast<double>(dy[r * d + j]) * x[r * d + j] * inv[r];
    partial[c * d + j] = g;
  }
}

/// A warp per row: dx = inv * g - x * inv^3 * mean(g * x), g = dy * gamma,
/// in double (the terms can cancel far below their size). dx may alias x
/// or dy, as in LayerNormInputGradKernel.
__global__ void RmsNormInputGradKernel(const float *x, const float *gamma, const float *dy,
                                       const double *inv_rows, float *dx, int64_t rows,
                                       int64_t d) {
  for (int64_t r = WarpRow(); r < rows; r += WarpRowStride()) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    const double inv = inv_rows[r];
    double sgx = 0;
    for (int64_t j = Lane(); j < d; j += 32) sgx += static_cast<double>(dyr[j]) * gamma[j] * xr[j];
    const double k = inv * inv * inv * WarpSum(sgx) / d;
    float *dxr = dx + r * d;
    for (int64_t j = Lane(); j < d; j += 32)
      dxr[j] = static_cast<float>(inv * dyr[j] * gamma[j] - xr[j] * k);
  }
}

/// Doubles of scratch RmsNormGradRun needs: each row's inv, and the column
/// sums' partials.
inline int64_t RmsNormGradScratch(int64_t rows, int64_t d) {
  const int64_t r = rows > 0 ? rows : 0;
  return r + ParamGradChunks(r) * (d > 0 ? d : 0);
}

/// `scratch`: RmsNormGradScratch(rows, d) doubles.
template <typename Launch>
void RmsNormGradRun(const Launch &launch, const float *x, const float *gamma, const float *dy,
                    float *dx, float *dgamma, int64_t rows, int64_t d, float eps, double *scratch) {
  if (d <= 0) return;
  const int64_t r = rows > 0 ? rows : 0, chunks = ParamGradChunks(r);
  double *inv = scratch, *partial = scratch + r;
  launch.Blocks(RmsNormStatsKernel, WarpPerRow(r), x, inv, r, d, eps);
  launch.Blocks(RmsNormParamPartialKernel, ParamPartialShape(r, d), x, dy,
                static_cast<const double *>(inv), partial, r, d, chunks);
  launch(SumChunksKernel, d, static_cast<const double *>(partial), chunks, d, d, dgamma);
  launch.Blocks(RmsNormInputGradKernel, WarpPerRow(r), x, gamma, dy, static_cast<const double *>(inv),
                dx, r, d);
}

}  // namespace weft::cuda::kernels

#endif

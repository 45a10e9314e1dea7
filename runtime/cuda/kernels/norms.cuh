// Softmax's gradient and the normalisations: SoftmaxGrad, LayerNorm(Grad),
// RmsNorm(Grad), the twins of the CPU kernels (kernels.h, grad_kernels.h),
// with their formulas and their double sums.
//
// Correctness first: one thread per row (per column for dgamma and dbeta,
// which keeps their sums in a fixed order, so results do not depend on
// timing), and the norm gradients keep their row statistics in a scratch
// buffer. The fast one should give a row to a warp or a block (shuffle
// reductions over coalesced loads, statistics in registers), and sum dgamma
// and dbeta through per-block partials in a fixed order.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_NORMS_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_NORMS_CUH

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

template <typename Launch>
void SoftmaxGradRun(const Launch &launch, const float *y, const float *dy, float *dx,
                    int64_t outer, int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  launch(SoftmaxGradKernel, outer * inner, y, dy, dx, outer, dim, inner);
}

// ---------------------------------------------------------------- LayerNorm

// A row's mean and 1/sqrt(var + eps): two passes in double, as
// cpu::LayerNormRowStats.
__device__ __forceinline__ void LayerNormStats(const float *xr, int64_t d, float eps,
                                               double &mean, double &inv) {
  double sum = 0;
  for (int64_t j = 0; j < d; ++j) sum += xr[j];
  mean = sum / d;
  double sq = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = xr[j] - mean;
    sq += t * t;
  }
  inv = 1.0 / sqrt(sq / d + eps);
}

__global__ void LayerNormKernel(const float *x, const float *gamma, const float *beta, float *y,
                                int64_t rows, int64_t d, float eps) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double mean, inv;
    LayerNormStats(xr, d, eps, mean, inv);
    const float invf = static_cast<float>(inv), meanf = static_cast<float>(mean);
    for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - meanf) * invf * gamma[j] + beta[j];
  }
}

template <typename Launch>
void LayerNormRun(const Launch &launch, const float *x, const float *gamma, const float *beta,
                  float *y, int64_t rows, int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
  launch(LayerNormKernel, rows, x, gamma, beta, y, rows, d, eps);
}

/// stats[2r], stats[2r + 1] = row r's mean and inv.
__global__ void LayerNormStatsKernel(const float *x, double *stats, int64_t rows, int64_t d,
                                     float eps) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride())
    LayerNormStats(x + r * d, d, eps, stats[2 * r], stats[2 * r + 1]);
}

/// One thread per column: dgamma[j] = sum_r dy * xhat, dbeta[j] = sum_r dy,
/// in row order.
__global__ void LayerNormParamGradKernel(const float *x, const float *dy, const double *stats,
                                         float *dgamma, float *dbeta, int64_t rows, int64_t d) {
  for (int64_t j = FirstItem(); j < d; j += ItemStride()) {
    double g = 0, b = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (x[r * d + j] - stats[2 * r]) * stats[2 * r + 1];
      g += dy[r * d + j] * xhat;
      b += dy[r * d + j];
    }
    dgamma[j] = static_cast<float>(g);
    dbeta[j] = static_cast<float>(b);
  }
}

/// One thread per row: with xhat = (x - mean) * inv and g = dy * gamma,
/// dx = inv * (g - mean(g) - xhat * mean(g * xhat)), in double. The sums are
/// taken before dx is written, so dx may alias x or dy.
__global__ void LayerNormInputGradKernel(const float *x, const float *gamma, const float *dy,
                                         const double *stats, float *dx, int64_t rows,
                                         int64_t d) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    const double mean = stats[2 * r], inv = stats[2 * r + 1];
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = (xr[j] - mean) * inv, g = static_cast<double>(dyr[j]) * gamma[j];
      sg += g;
      sgx += g * xhat;
    }
    const double mg = sg / d, mgx = sgx / d;
    float *dxr = dx + r * d;
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = (xr[j] - mean) * inv;
      dxr[j] = static_cast<float>(inv * (static_cast<double>(dyr[j]) * gamma[j] - mg - xhat * mgx));
    }
  }
}

/// `stats`: scratch for 2 * rows doubles. dgamma and dbeta are summed before
/// dx is written, as dx may alias x or dy.
template <typename Launch>
void LayerNormGradRun(const Launch &launch, const float *x, const float *gamma, const float *dy,
                      float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t d, float eps,
                      double *stats) {
  if (d <= 0) return;
  const int64_t r = rows > 0 ? rows : 0;
  launch(LayerNormStatsKernel, r, x, stats, r, d, eps);
  launch(LayerNormParamGradKernel, d, x, dy, static_cast<const double *>(stats), dgamma, dbeta, r, d);
  launch(LayerNormInputGradKernel, r, x, gamma, dy, static_cast<const double *>(stats), dx, r, d);
}

// ---------------------------------------------------------------- RmsNorm

__device__ __forceinline__ double RmsInv(const float *xr, int64_t d, float eps) {
  double sq = 0;
  for (int64_t j = 0; j < d; ++j) sq += static_cast<double>(xr[j]) * xr[j];
  return 1.0 / sqrt(sq / d + eps);
}

__global__ void RmsNormKernel(const float *x, const float *gamma, float *y, int64_t rows,
                              int64_t d, float eps) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    const float inv = static_cast<float>(RmsInv(xr, d, eps));
    for (int64_t j = 0; j < d; ++j) yr[j] = xr[j] * inv * gamma[j];
  }
}

template <typename Launch>
void RmsNormRun(const Launch &launch, const float *x, const float *gamma, float *y, int64_t rows,
                int64_t d, float eps) {
  if (rows <= 0 || d <= 0) return;
  launch(RmsNormKernel, rows, x, gamma, y, rows, d, eps);
}

__global__ void RmsNormStatsKernel(const float *x, double *inv, int64_t rows, int64_t d,
                                   float eps) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) inv[r] = RmsInv(x + r * d, d, eps);
}

/// One thread per column: dgamma[j] = sum_r dy * x * inv, in row order.
__global__ void RmsNormParamGradKernel(const float *x, const float *dy, const double *inv,
                                       float *dgamma, int64_t rows, int64_t d) {
  for (int64_t j = FirstItem(); j < d; j += ItemStride()) {
    double g = 0;
    for (int64_t r = 0; r < rows; ++r)
      g += static_cast<double>(dy[r * d + j]) * x[r * d + j] * inv[r];
    dgamma[j] = static_cast<float>(g);
  }
}

/// One thread per row: dx = inv * g - x * inv^3 * mean(g * x), g = dy *
/// gamma, in double (the terms can cancel far below their size).
__global__ void RmsNormInputGradKernel(const float *x, const float *gamma, const float *dy,
                                       const double *inv_rows, float *dx, int64_t rows,
                                       int64_t d) {
  for (int64_t r = FirstItem(); r < rows; r += ItemStride()) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    const double inv = inv_rows[r];
    double sgx = 0;
    for (int64_t j = 0; j < d; ++j) sgx += static_cast<double>(dyr[j]) * gamma[j] * xr[j];
    const double k = inv * inv * inv * sgx / d;
    float *dxr = dx + r * d;
    for (int64_t j = 0; j < d; ++j)
      dxr[j] = static_cast<float>(inv * dyr[j] * gamma[j] - xr[j] * k);
  }
}

/// `inv`: scratch for `rows` doubles.
template <typename Launch>
void RmsNormGradRun(const Launch &launch, const float *x, const float *gamma, const float *dy,
                    float *dx, float *dgamma, int64_t rows, int64_t d, float eps, double *inv) {
  if (d <= 0) return;
  const int64_t r = rows > 0 ? rows : 0;
  launch(RmsNormStatsKernel, r, x, inv, r, d, eps);
  launch(RmsNormParamGradKernel, d, x, dy, static_cast<const double *>(inv), dgamma, r, d);
  launch(RmsNormInputGradKernel, r, x, gamma, dy, static_cast<const double *>(inv), dx, r, d);
}

}  // namespace weft::cuda::kernels

#endif

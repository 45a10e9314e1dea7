// Attention and its gradient: softmax(q k^T * scale [causal]) v for q [b, h,
// sq, dh], k [b, h, sk, dh], v [b, h, sk, dv], the twins of cpu::Attention
// and cpu::AttentionGrad. Query i of a causal head sees keys 0..min(i, sk-1).
// This is the fallback of the cuBLASLt attention (attention_gemm.h) when its
// scores do not fit: nothing here is bigger than a tile.
//
// Tiled flash attention (FlashAttention-2's loop order) on f32 SIMT FMAs. A
// block of 64 threads (8 x 8) owns a 64 x 64 tile, each thread an 8 x 8
// register sub-tile (rows ty + 8r, columns tx + 8c); the operands are staged
// through shared memory, 16 columns of the inner dimension at a time, so any
// dh works; outputs wider than 64 are done 64 columns (a chunk) at a time.
//  - Forward: a block per (head, query tile, dv chunk) walks the key tiles
//    (causal: up to the diagonal) with an online softmax per query row
//    (running max and sum; the sum kept per thread and reduced once at the
//    end), P through shared memory into O += P V; O written once.
//  - Gradient, deterministic (no atomics), no scratch:
//    1. a block per query tile: lse and D = sum_j P_ij dP_ij (= dout_i .
//       out_i; out is not an input, so from dP = dout v^T, online like lse,
//       summed in double), parked in the first two elements of its dq rows;
//    2. a block per (key tile, dv or dh chunk) walks the query tiles that
//       see it: S^T = k q^T, P^T = exp(S^T - lse) recomputed, dv += P^T dout,
//       or dS^T = P^T (dP^T - D) and dk += scale dS^T q;
//    3. a block per query tile reads its lse and D, then per dh chunk walks
//       the key tiles: dq += scale dS k, written over the parked stats.
//    With dh < 2 there is no room in dq: passes 2 and 3 recompute a query
//    tile's stats where they need them (quadratic in tiles; tiny heads only).
// A dv of more than 64 recomputes S per chunk (twice the q k^T work at 128),
// and pass 2's dv and dk chunks each recompute P. dS is formed in float
// from float dP (the old per-row kernel summed dP in double); the tests hold
// it to the CPU kernel at the same tolerance. ptxas (sm_90): up to 255
// registers a thread, no spills, ~43 KiB of shared memory a block, so 4
// blocks (8 warps) an SM: latency is hidden by the 64 independent FMAs of a
// sub-tile step rather than by occupancy.
//
// Why SIMT: tensor cores (mma/wgmma) and TMA cannot be checked without a
// GPU, while these bodies also run on the host (CudaKernelEmulationTest).
// The fast one is FlashAttention-2/3 proper: q k^T and P v on tensor cores
// (wgmma, bf16 or tf32), K/V tiles by TMA in a pipelined ring, 128-row
// tiles per warpgroup, lse saved by the forward pass for the backward, and
// dq accumulated in one pass with atomics (or a separate deterministic one).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_ATTENTION_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_ATTENTION_CUH

#include "runtime/cuda/kernels/block_reduce.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

// The register sub-tiles must be fully unrolled to stay in registers.
#if defined(__CUDACC__)
#define WEFT_ATTENTION_UNROLL _Pragma("unroll")
#else
#define WEFT_ATTENTION_UNROLL
#endif

namespace weft::cuda::kernels {

/// The shapes of one attention, passed by value to the kernels.
struct AttentionShape {
  int64_t heads, sq, sk, dh, dv;
  bool causal;
  float scale;
  /// Whether query i sees key j (both in range).
  __device__ bool Sees(int64_t i, int64_t j) const { return j < sk && (!causal || j <= i); }
};

/// The tile geometry: every kernel here runs exactly kAttentionThreads
/// threads (8 x 8), each owning kSub x kSub of a kTile x kTile tile.
constexpr int kAttentionThreads = 64;
constexpr int kTile = 64;
constexpr int kSub = 8;
constexpr int kInner = 16;       // inner-dimension columns staged per step
constexpr int kLd = kTile + 4;   // padded rows: a sub-tile's transposed store is conflict-free

__host__ __device__ inline int64_t AttentionTiles(int64_t n) { return n > 0 ? (n + kTile - 1) / kTile : 0; }
/// The rows of a tile starting at row `first` of n.
__device__ __forceinline__ int64_t TileRows(int64_t n, int64_t first) {
  return n - first < kTile ? n - first : kTile;
}

using SubTile = float[kSub][kSub];

/// A block's shared memory (about 43 KiB, under the 48 KiB static limit):
/// `as`/`bs` the staged inner slices, `ps` a P or dS tile stored transposed
/// (ps[inner][row]), `xs` the right operand of a P product, `lse`/`d` the
/// query tile's stats.
struct AttentionSmem {
  float *as, *bs, *ps, *xs, *lse, *d;
};

#define WEFT_ATTENTION_SMEM(name)                                                     \
  __shared__ float name##_as[kInner * kLd], name##_bs[kInner * kLd],                  \
      name##_ps[kTile * kLd], name##_xs[kTile * kTile], name##_lse[kTile], name##_d[kTile]; \
  const AttentionSmem name {                                                         \
    name##_as, name##_bs, name##_ps, name##_xs, name##_lse, name##_d                 \
  }

__device__ __forceinline__ int SubRow() { return static_cast<int>(threadIdx.x) / kSub; }
__device__ __forceinline__ int SubCol() { return static_cast<int>(threadIdx.x) % kSub; }

__device__ __forceinline__ void ZeroSub(SubTile &t) {
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) t[r][c] = 0.0f;
  }
}

/// acc[r][c] += x[ty + 8r] * y[tx + 8c]: one step of a sub-tile product,
/// x and y rows of shared memory.
__device__ __forceinline__ void OuterProductAdd(const float *x, const float *y, SubTile &acc) {
  float xr[kSub], yc[kSub];
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) xr[r] = x[SubRow() + kSub * r];
  WEFT_ATTENTION_UNROLL
  for (int c = 0; c < kSub; ++c) yc[c] = y[SubCol() + kSub * c];
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) acc[r][c] = fmaf(xr[r], yc[c], acc[r][c]);
  }
}

/// acc[r][c] += sum_k a[ty + 8r][k] * b[tx + 8c][k], a and b row-major with
/// n columns, rows past a_rows / b_rows (and columns past n) read as zero.
__device__ __forceinline__ void TileDotsNT(const float *a, int64_t a_rows, const float *b,
                                           int64_t b_rows, int64_t n, const AttentionSmem &sm,
                                           SubTile &acc) {
  for (int64_t k0 = 0; k0 < n; k0 += kInner) {
    // 16 threads read 16 consecutive floats of a row.
    for (int e = threadIdx.x; e < kTile * kInner; e += kAttentionThreads) {
      const int row = e / kInner, kk = e % kInner;
      const int64_t col = k0 + kk;
      sm.as[kk * kLd + row] = row < a_rows && col < n ? a[row * n + col] : 0.0f;
      sm.bs[kk * kLd + row] = row < b_rows && col < n ? b[row * n + col] : 0.0f;
    }
    __syncthreads();
    WEFT_ATTENTION_UNROLL
    for (int kk = 0; kk < kInner; ++kk) OuterProductAdd(sm.as + kk * kLd, sm.bs + kk * kLd, acc);
    __syncthreads();  // every thread has read the slices before the next load
  }
}

/// This thread's element (r, c) of sm.ps, stored transposed: ps[tx + 8c][ty + 8r].
__device__ __forceinline__ float &OwnPs(const AttentionSmem &sm, int r, int c) {
  return sm.ps[(SubCol() + kSub * c) * kLd + SubRow() + kSub * r];
}

__device__ __forceinline__ void StoreTransposed(const SubTile &t, const AttentionSmem &sm) {
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) OwnPs(sm, r, c) = t[r][c];
  }
}

/// acc[r][c] += sum_j ps[j][ty + 8r] * x[j][col0 + tx + 8c] over the tile's
/// 64 j, x row-major of `width` columns, rows past x_rows (and columns past
/// width) read as zero. Each thread's own ps writes need no barrier; the
/// others' are ordered by the one after staging x.
__device__ __forceinline__ void TileProductNN(const float *x, int64_t x_rows, int64_t width,
                                              int64_t col0, const AttentionSmem &sm,
                                              SubTile &acc) {
  for (int e = threadIdx.x; e < kTile * kTile; e += kAttentionThreads) {
    const int j = e / kTile, c = e % kTile;
    sm.xs[e] = j < x_rows && col0 + c < width ? x[j * width + col0 + c] : 0.0f;
  }
  __syncthreads();
  for (int j = 0; j < kTile; ++j) OuterProductAdd(sm.ps + j * kLd, sm.xs + j * kTile, acc);
  __syncthreads();  // ps and xs are read before anyone rewrites them
}

/// The max or sum over the 8 threads sharing a sub-tile row (lanes that
/// differ in their low 3 bits).
__device__ __forceinline__ float SubRowMax(float v) {
  for (int o = 1; o < kSub; o *= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}
template <typename T>
__device__ __forceinline__ T SubRowSum(T v) {
  for (int o = 1; o < kSub; o *= 2) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

/// The key tiles that query tile [q0, q0 + 64) sees.
__device__ __forceinline__ int64_t KeyTilesSeen(const AttentionShape &a, int64_t q0) {
  const int64_t all = AttentionTiles(a.sk);
  if (!a.causal) return all;
  const int64_t last_row = (q0 + kTile < a.sq ? q0 + kTile : a.sq) - 1;
  return last_row / kTile + 1 < all ? last_row / kTile + 1 : all;
}

/// Masks and scales a row of scores (row i, keys k0 + tx + 8c) and folds it
/// into the running max m; returns the exponent base (0 while the row has
/// seen nothing, so exp(-inf - base) = 0, not NaN) and the rescale of what
/// was summed before.
__device__ __forceinline__ float OnlineRow(const AttentionShape &a, int64_t i, int64_t k0,
                                          float (&s)[kSub], float &m, float &corr) {
  const int tx = SubCol();
  float mx = m;
  WEFT_ATTENTION_UNROLL
  for (int c = 0; c < kSub; ++c) {
    s[c] = a.Sees(i, k0 + tx + kSub * c) ? s[c] * a.scale : -INFINITY;
    mx = fmaxf(mx, s[c]);
  }
  mx = SubRowMax(mx);
  const float base = mx == -INFINITY ? 0.0f : mx;
  corr = expf(m - base);
  m = mx;
  return base;
}

/// Key tile [k0, k0 + 64) of query tile [q0, q0 + 64)'s online softmax:
/// s = exp(scale q k^T - the new running max m), masked entries 0; l (this
/// thread's share of the row sums) rescaled and added to; corr the rescale
/// of what was accumulated before.
__device__ __forceinline__ void OnlineTile(const float *qt, const float *kh, const AttentionShape &a,
                                           int64_t q0, int64_t k0, const AttentionSmem &sm,
                                           SubTile &s, float (&m)[kSub], float (&l)[kSub],
                                           float (&corr)[kSub]) {
  ZeroSub(s);
  TileDotsNT(qt, TileRows(a.sq, q0), kh + k0 * a.dh, TileRows(a.sk, k0), a.dh, sm, s);
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    const float base = OnlineRow(a, q0 + SubRow() + kSub * r, k0, s[r], m[r], corr[r]);
    float sum = 0.0f;
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) sum += s[r][c] = expf(s[r][c] - base);
    l[r] = l[r] * corr[r] + sum;
  }
}

/// Forward: a block per (head, query tile, dv chunk).
__global__ void __launch_bounds__(kAttentionThreads)
    FlashAttentionKernel(const float *q, const float *k, const float *v, float *out,
                         AttentionShape a) {
  WEFT_ATTENTION_SMEM(sm);
  const int ty = SubRow(), tx = SubCol();
  const int64_t q_tiles = AttentionTiles(a.sq), chunks = AttentionTiles(a.dv);
  for (int64_t item = blockIdx.x; item < a.heads * q_tiles * chunks; item += gridDim.x) {
    const int64_t hd = item / (q_tiles * chunks), q0 = (item / chunks % q_tiles) * kTile,
                  col0 = (item % chunks) * kTile;
    const float *qt = q + (hd * a.sq + q0) * a.dh, *kh = k + hd * a.sk * a.dh,
                *vh = v + hd * a.sk * a.dv;
    const int64_t q_rows = TileRows(a.sq, q0);
    float m[kSub], l[kSub];  // l: this thread's columns' share of the row sum
    SubTile o;
    ZeroSub(o);
    WEFT_ATTENTION_UNROLL
    for (int r = 0; r < kSub; ++r) m[r] = -INFINITY, l[r] = 0.0f;
    const int64_t k_tiles = KeyTilesSeen(a, q0);
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
      const int64_t k0 = kt * kTile;
      SubTile s;
      float corr[kSub];
      OnlineTile(qt, kh, a, q0, k0, sm, s, m, l, corr);
      WEFT_ATTENTION_UNROLL
      for (int r = 0; r < kSub; ++r) {
        WEFT_ATTENTION_UNROLL
        for (int c = 0; c < kSub; ++c) o[r][c] *= corr[r];
      }
      StoreTransposed(s, sm);
      TileProductNN(vh + k0 * a.dv, TileRows(a.sk, k0), a.dv, col0, sm, o);
    }
    WEFT_ATTENTION_UNROLL
    for (int r = 0; r < kSub; ++r) {
      const float sum = SubRowSum(l[r]);
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;  // no keys: an empty sum
      const int64_t i = ty + kSub * r;
      WEFT_ATTENTION_UNROLL
      for (int c = 0; c < kSub; ++c) {
        const int64_t col = col0 + tx + kSub * c;
        if (i < q_rows && col < a.dv) out[(hd * a.sq + q0 + i) * a.dv + col] = o[r][c] * inv;
      }
    }
  }
}

template <typename Launch>
void AttentionRun(const Launch &launch, const float *q, const float *k, const float *v,
                  float *out, const AttentionShape &a) {
  if (a.heads <= 0 || a.sq <= 0 || a.dv <= 0) return;
  const int64_t items = a.heads * AttentionTiles(a.sq) * AttentionTiles(a.dv);
  launch.Blocks(FlashAttentionKernel, BlockShape{CappedBlocks(items), kAttentionThreads}, q, k, v,
                out, a);
}

/// Query tile [q0, q0 + 64)'s lse and D = sum_j P_ij dP_ij into sm.lse and
/// sm.d (rows past sq get harmless values): one walk over its key tiles with
/// S = q k^T and dP = dout v^T, an online max, and the sums rescaled with it
/// (D's in double, as the CPU kernel's). Uses sm.ps; ends with a barrier.
__device__ __forceinline__ void QueryTileStats(const float *q, const float *k, const float *v,
                                               const float *dout, const AttentionShape &a,
                                               int64_t hd, int64_t q0, const AttentionSmem &sm) {
  const int ty = SubRow(), tx = SubCol();
  const float *qt = q + (hd * a.sq + q0) * a.dh, *dot = dout + (hd * a.sq + q0) * a.dv;
  const float *kh = k + hd * a.sk * a.dh, *vh = v + hd * a.sk * a.dv;
  const int64_t q_rows = TileRows(a.sq, q0);
  float m[kSub], l[kSub];
  double d[kSub];
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) m[r] = -INFINITY, l[r] = 0.0f, d[r] = 0.0;
  const int64_t k_tiles = KeyTilesSeen(a, q0);
  for (int64_t kt = 0; kt < k_tiles; ++kt) {
    const int64_t k0 = kt * kTile, k_rows = TileRows(a.sk, k0);
    SubTile s;
    float corr[kSub];
    OnlineTile(qt, kh, a, q0, k0, sm, s, m, l, corr);
    WEFT_ATTENTION_UNROLL
    for (int r = 0; r < kSub; ++r) d[r] *= corr[r];
    // P waits in this thread's own ps entries while dP is computed (fewer
    // registers live than holding both tiles).
    StoreTransposed(s, sm);
    SubTile dp;
    ZeroSub(dp);
    TileDotsNT(dot, q_rows, vh + k0 * a.dv, k_rows, a.dv, sm, dp);
    WEFT_ATTENTION_UNROLL
    for (int r = 0; r < kSub; ++r) {
      double dsum = 0.0;
      WEFT_ATTENTION_UNROLL
      for (int c = 0; c < kSub; ++c)
        dsum += static_cast<double>(OwnPs(sm, r, c)) * dp[r][c];
      d[r] += dsum;
    }
  }
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    const float sum = SubRowSum(l[r]);
    const double dsum = SubRowSum(d[r]);
    if (tx == 0) {
      sm.lse[ty + kSub * r] = sum > 0.0f ? m[r] + logf(sum) : 0.0f;
      sm.d[ty + kSub * r] = sum > 0.0f ? static_cast<float>(dsum / sum) : 0.0f;
    }
  }
  __syncthreads();
}

// Whether a row's lse and D are parked in its dq row.
__device__ __forceinline__ bool StatsInDq(const AttentionShape &a) { return a.dh >= 2; }

/// Query tile [q0, q0 + 64)'s stats into sm.lse and sm.d, from dq or
/// recomputed; zeros past sq. Ends with a barrier.
__device__ __forceinline__ void LoadQueryTileStats(const float *q, const float *k, const float *v,
                                                   const float *dout, const float *dq,
                                                   const AttentionShape &a, int64_t hd, int64_t q0,
                                                   const AttentionSmem &sm) {
  if (!StatsInDq(a)) {
    QueryTileStats(q, k, v, dout, a, hd, q0, sm);
    return;
  }
  const int64_t i = q0 + threadIdx.x;  // 64 threads, 64 rows
  sm.lse[threadIdx.x] = i < a.sq ? dq[(hd * a.sq + i) * a.dh] : 0.0f;
  sm.d[threadIdx.x] = i < a.sq ? dq[(hd * a.sq + i) * a.dh + 1] : 0.0f;
  __syncthreads();
}

/// The gradient's tiles: `s` holds raw q.k sums for query tile q0 and key
/// tile k0, its rows queries (queries_are_rows) or keys. Stores P = exp(scale
/// s - lse), 0 where masked or past sq, into this thread's own ps entries.
__device__ __forceinline__ void StoreProbabilities(SubTile &s, const AttentionShape &a, int64_t q0,
                                                   int64_t k0, bool queries_are_rows,
                                                   const AttentionSmem &sm) {
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) {
      const int row = SubRow() + kSub * r, col = SubCol() + kSub * c;
      const int query = queries_are_rows ? row : col, key = queries_are_rows ? col : row;
      s[r][c] = q0 + query < a.sq && a.Sees(q0 + query, k0 + key)
                    ? expf(s[r][c] * a.scale - sm.lse[query])
                    : 0.0f;
    }
  }
  StoreTransposed(s, sm);
}

/// dS = P (dP - D) in place of this thread's own P entries, dp oriented as s
/// was.
__device__ __forceinline__ void StoreScoreGrads(const SubTile &dp, bool queries_are_rows,
                                                const AttentionSmem &sm) {
  WEFT_ATTENTION_UNROLL
  for (int r = 0; r < kSub; ++r) {
    WEFT_ATTENTION_UNROLL
    for (int c = 0; c < kSub; ++c) {
      const int query = queries_are_rows ? SubRow() + kSub * r : SubCol() + kSub * c;
      OwnPs(sm, r, c) *= dp[r][c] - sm.d[query];
    }
  }
}

/// Pass 1: a block per (head, query tile), its stats into dq[row, 0..1].
__global__ void __launch_bounds__(kAttentionThreads)
    AttentionGradStatsKernel(const float *q, const float *k, const float *v, const float *dout,
                             float *dq, AttentionShape a) {
  WEFT_ATTENTION_SMEM(sm);
  const int64_t q_tiles = AttentionTiles(a.sq);
  for (int64_t item = blockIdx.x; item < a.heads * q_tiles; item += gridDim.x) {
    const int64_t hd = item / q_tiles, q0 = item % q_tiles * kTile, i = q0 + threadIdx.x;
    QueryTileStats(q, k, v, dout, a, hd, q0, sm);
    if (i < a.sq) {
      dq[(hd * a.sq + i) * a.dh] = sm.lse[threadIdx.x];
      dq[(hd * a.sq + i) * a.dh + 1] = sm.d[threadIdx.x];
    }
    __syncthreads();  // sm.lse/d are read before the next tile's stats
  }
}

/// Pass 2: a block per (head, key tile, chunk): chunks [0, dv chunks) are
/// dv's columns, the rest dk's. Its sub-tile rows are keys, columns queries.
__global__ void __launch_bounds__(kAttentionThreads)
    AttentionGradKeysKernel(const float *q, const float *k, const float *v, const float *dout,
                            const float *dq, float *dk, float *dv, AttentionShape a) {
  WEFT_ATTENTION_SMEM(sm);
  const int ty = SubRow(), tx = SubCol();
  const int64_t q_tiles = AttentionTiles(a.sq), k_tiles = AttentionTiles(a.sk);
  const int64_t v_chunks = AttentionTiles(a.dv), chunks = v_chunks + AttentionTiles(a.dh);
  for (int64_t item = blockIdx.x; item < a.heads * k_tiles * chunks; item += gridDim.x) {
    const int64_t hd = item / (k_tiles * chunks), kt = item / chunks % k_tiles,
                  chunk = item % chunks;
    const bool for_v = chunk < v_chunks;
    const int64_t col0 = (for_v ? chunk : chunk - v_chunks) * kTile, k0 = kt * kTile;
    const int64_t k_rows = TileRows(a.sk, k0);
    const float *kb = k + (hd * a.sk + k0) * a.dh, *vt = v + (hd * a.sk + k0) * a.dv;
    SubTile acc;
    ZeroSub(acc);
    // Causal: query tile qt has a row >= k0 only from qt = kt on.
    for (int64_t qtile = a.causal ? kt : 0; qtile < q_tiles; ++qtile) {
      const int64_t q0 = qtile * kTile, q_rows = TileRows(a.sq, q0);
      const float *qt = q + (hd * a.sq + q0) * a.dh, *dot = dout + (hd * a.sq + q0) * a.dv;
      LoadQueryTileStats(q, k, v, dout, dq, a, hd, q0, sm);
      SubTile p;  // P^T: keys x queries
      ZeroSub(p);
      TileDotsNT(kb, k_rows, qt, q_rows, a.dh, sm, p);
      StoreProbabilities(p, a, q0, k0, /*queries_are_rows=*/false, sm);  // ps[query][key]
      if (for_v) {
        TileProductNN(dot, q_rows, a.dv, col0, sm, acc);
        continue;
      }
      SubTile dp;  // dP^T = v dout^T
      ZeroSub(dp);
      TileDotsNT(vt, k_rows, dot, q_rows, a.dv, sm, dp);
      StoreScoreGrads(dp, /*queries_are_rows=*/false, sm);
      TileProductNN(qt, q_rows, a.dh, col0, sm, acc);
    }
    float *grad = for_v ? dv : dk;
    const int64_t width = for_v ? a.dv : a.dh;
    const float mul = for_v ? 1.0f : a.scale;
    WEFT_ATTENTION_UNROLL
    for (int r = 0; r < kSub; ++r) {
      WEFT_ATTENTION_UNROLL
      for (int c = 0; c < kSub; ++c) {
        const int64_t j = ty + kSub * r, col = col0 + tx + kSub * c;
        if (j < k_rows && col < width) grad[(hd * a.sk + k0 + j) * width + col] = mul * acc[r][c];
      }
    }
  }
}

/// Pass 3: a block per (head, query tile): its stats first (then its dq rows
/// are free), then per dh chunk dq = scale sum_j dS_ij k_j over its key tiles.
__global__ void __launch_bounds__(kAttentionThreads)
    AttentionGradQueriesKernel(const float *q, const float *k, const float *v, const float *dout,
                               float *dq, AttentionShape a) {
  WEFT_ATTENTION_SMEM(sm);
  const int ty = SubRow(), tx = SubCol();
  const int64_t q_tiles = AttentionTiles(a.sq), chunks = AttentionTiles(a.dh);
  for (int64_t item = blockIdx.x; item < a.heads * q_tiles; item += gridDim.x) {
    const int64_t hd = item / q_tiles, q0 = item % q_tiles * kTile;
    const int64_t q_rows = TileRows(a.sq, q0);
    const float *qt = q + (hd * a.sq + q0) * a.dh, *dot = dout + (hd * a.sq + q0) * a.dv;
    const float *kh = k + hd * a.sk * a.dh, *vh = v + hd * a.sk * a.dv;
    LoadQueryTileStats(q, k, v, dout, dq, a, hd, q0, sm);
    const int64_t k_tiles = KeyTilesSeen(a, q0);
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t col0 = chunk * kTile;
      SubTile acc;
      ZeroSub(acc);
      for (int64_t kt = 0; kt < k_tiles; ++kt) {
        const int64_t k0 = kt * kTile, k_rows = TileRows(a.sk, k0);
        SubTile p;
        ZeroSub(p);
        TileDotsNT(qt, q_rows, kh + k0 * a.dh, k_rows, a.dh, sm, p);
        StoreProbabilities(p, a, q0, k0, /*queries_are_rows=*/true, sm);  // ps[key][query]
        SubTile dp;
        ZeroSub(dp);
        TileDotsNT(dot, q_rows, vh + k0 * a.dv, k_rows, a.dv, sm, dp);
        StoreScoreGrads(dp, /*queries_are_rows=*/true, sm);
        TileProductNN(kh + k0 * a.dh, k_rows, a.dh, col0, sm, acc);
      }
      WEFT_ATTENTION_UNROLL
      for (int r = 0; r < kSub; ++r) {
        WEFT_ATTENTION_UNROLL
        for (int c = 0; c < kSub; ++c) {
          const int64_t i = ty + kSub * r, col = col0 + tx + kSub * c;
          if (i < q_rows && col < a.dh) dq[(hd * a.sq + q0 + i) * a.dh + col] = a.scale * acc[r][c];
        }
      }
    }
    __syncthreads();  // sm.lse/d are read before the next tile's
  }
}

template <typename Launch>
void AttentionGradRun(const Launch &launch, const float *q, const float *k, const float *v,
                      const float *dout, float *dq, float *dk, float *dv,
                      const AttentionShape &a) {
  if (a.heads <= 0) return;
  const int64_t q_tiles = AttentionTiles(a.sq), k_tiles = AttentionTiles(a.sk);
  const int64_t chunks = AttentionTiles(a.dv) + AttentionTiles(a.dh);
  if (a.dh >= 2)
    launch.Blocks(AttentionGradStatsKernel, BlockShape{CappedBlocks(a.heads * q_tiles), kAttentionThreads},
                  q, k, v, dout, dq, a);
  launch.Blocks(AttentionGradKeysKernel,
                BlockShape{CappedBlocks(a.heads * k_tiles * chunks), kAttentionThreads}, q, k, v,
                dout, static_cast<const float *>(dq), dk, dv, a);
  if (a.dh > 0)
    launch.Blocks(AttentionGradQueriesKernel,
                  BlockShape{CappedBlocks(a.heads * q_tiles), kAttentionThreads}, q, k, v, dout, dq, a);
}

}  // namespace weft::cuda::kernels

#undef WEFT_ATTENTION_UNROLL
#undef WEFT_ATTENTION_SMEM

#endif

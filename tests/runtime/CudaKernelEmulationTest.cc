// The CUDA backend's kernel bodies (runtime/cuda/kernels/*.cuh) run on the
// host through CudaEmulation.h, against the CPU kernels of the same names
// (the oracle). Each case runs three times: with the launchers' own grid
// (BlocksFor(work) x 256 threads; cooperative kernels on their own shape,
// their threads running concurrently), and twice on a tiny grid, so every
// grid-stride loop wraps and no result may depend on the threads' order:
// 2 x 3 threads walked in reverse, and for cooperative kernels 2 blocks of
// 64 threads, one thread running at a time in thread order (forward) or
// reverse order, which makes a missing barrier fail every time (see
// CudaBlockEmulation.h). Outputs start as NaN, so an element no thread
// writes fails. Runs everywhere: it needs no CUDA.
#include "CudaEmulation.h"

#include "runtime/cuda/kernels/attention.cuh"
#include "runtime/cuda/kernels/collectives.cuh"
#include "runtime/cuda/kernels/layout.cuh"
#include "runtime/cuda/kernels/losses.cuh"
#include "runtime/cuda/kernels/norms.cuh"
#include "runtime/cuda/kernels/optimizers.cuh"
#include "runtime/cuda/kernels/reduce.cuh"
#include "runtime/cuda/kernels/softmax.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "RandomFloats.h"
#include "runtime/collectives/communicator.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/optimizers.h"
#include "runtime/cpu/vocab_shard.h"
#include "runtime/executor/blocks.h"

namespace weft::cuda::kernels {
namespace {

using cpu::RandomFloats;

using emulation::Schedule;

/// How a case runs: the launchers' grid (cooperative kernels' threads
/// concurrent), or a tiny grid (cooperative kernels serialized forward or
/// in reverse).
enum class Grid { kLaunchers, kTinyForward, kTinyReverse };

/// The kernel headers' `launch`, emulated.
struct EmulatedLaunch {
  Grid grid;
  template <typename... P, typename... A>
  void operator()(void (*kernel)(P...), int64_t work, A... args) const {
    if (work <= 0) return;
    if (grid != Grid::kLaunchers)
      emulation::Emulate(2, 3, /*reverse=*/true, kernel, args...);
    else
      emulation::Emulate(BlocksFor(work), kThreads, /*reverse=*/false, kernel, args...);
  }
  template <typename... P, typename... A>
  void Blocks(void (*kernel)(P...), BlockShape shape, A... args) const {
    if (shape.blocks == 0) return;
    if (grid == Grid::kLaunchers)
      emulation::EmulateBlocks(shape.blocks, shape.threads, Schedule::kConcurrent,
                               /*reverse_blocks=*/false, kernel, args...);
    else
      emulation::EmulateBlocks(std::min(shape.blocks, 2u), std::min(shape.threads, 64u),
                               grid == Grid::kTinyForward ? Schedule::kForward : Schedule::kReverse,
                               /*reverse_blocks=*/true, kernel, args...);
  }
};

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// got matches want to 1e-5 relative, or 1e-6 absolute near zero; NaN only
// where want is NaN.
void ExpectClose(const std::vector<float> &got, const std::vector<float> &want,
                 const std::string &what, double rel = 1e-5, double abs = 1e-6) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = std::isnan(want[i]) ? std::isnan(got[i])
                    : std::isinf(want[i]) ? got[i] == want[i]
                                          : std::abs(double(got[i]) - want[i]) <=
                                                std::max(abs, rel * std::abs(double(want[i])));
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i];
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements differ";
}

double MaxAbs(const std::vector<float> &v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::abs(double(x)));
  return m;
}

template <typename T>
std::vector<T> Bytes(const void *p, size_t n) {
  std::vector<T> v(n);
  std::memcpy(v.data(), p, n * sizeof(T));
  return v;
}

class CudaKernelEmulationTest : public ::testing::TestWithParam<Grid> {
 protected:
  EmulatedLaunch launch() const { return EmulatedLaunch{GetParam()}; }
  std::mt19937 rng{12345};
};

// ---------------------------------------------------------------- layout

TEST_P(CudaKernelEmulationTest, CopyStridedMatchesTheCpuKernel) {
  struct Case {
    std::vector<int64_t> shape, src_strides, dst_strides;
    int64_t src_offset, dst_offset;
  };
  const std::vector<Case> cases = {
      {{3, 5}, {1, 3}, {5, 1}, 0, 0},                 // transpose
      {{2, 3, 7}, {1, 14, 2}, {21, 7, 1}, 0, 0},      // a 3-d permutation, odd sizes
      {{4, 6}, {0, 1}, {6, 1}, 2, 0},                 // broadcast of a row
      {{3, 4}, {10, 1}, {4, 1}, 13, 0},               // a slice
      {{2, 5}, {5, 1}, {12, 1}, 0, 7},                // into a concat
      {{}, {}, {}, 3, 1},                             // one element
      {{1, 2, 1, 3, 1, 2, 1, 2, 1, 2}, {48, 24, 24, 8, 8, 4, 4, 2, 2, 1},
       {1, 1, 24, 2, 1, 6, 1, 12, 1, 24}, 0, 0},     // 10 dims, some size 1
      {{2, 0, 3}, {0, 3, 1}, {3, 3, 1}, 0, 0},        // empty
  };
  for (size_t element : {1, 2, 3, 4, 8, 12}) {
    for (size_t c = 0; c < cases.size(); ++c) {
      const Case &k = cases[c];
      const size_t bytes = 64 * 12 * 8;
      std::vector<unsigned char> src(bytes), want(bytes), got(bytes);
      for (auto &b : src) b = static_cast<unsigned char>(rng());
      for (size_t i = 0; i < bytes; ++i) want[i] = got[i] = static_cast<unsigned char>(i * 7);
      cpu::CopyStrided(src.data(), k.src_offset, k.src_strides, want.data(), k.dst_offset,
                       k.dst_strides, k.shape, element);
      ASSERT_TRUE(CopyStridedRun(launch(), src.data(), k.src_offset, k.src_strides, got.data(),
                                 k.dst_offset, k.dst_strides, k.shape, element).ok());
      EXPECT_EQ(got, want) << "case " << c << ", element size " << element;
    }
  }
  // Misaligned ends take the byte path.
  std::vector<unsigned char> src(100), want(100, 0), got(100, 0);
  std::iota(src.begin(), src.end(), 0);
  cpu::CopyStrided(src.data() + 1, 0, {1, 3}, want.data() + 3, 0, {5, 1}, {3, 5}, 4);
  ASSERT_TRUE(CopyStridedRun(launch(), src.data() + 1, 0, {1, 3}, got.data() + 3, 0, {5, 1}, {3, 5}, 4).ok());
  EXPECT_EQ(got, want);
}

TEST_P(CudaKernelEmulationTest, CopyStridedRejectsWhatItCannotDo) {
  std::vector<float> a(1 << 10), b(1 << 10);
  // 9 dimensions that do not merge (every other one broadcast).
  const std::vector<int64_t> shape(9, 2), src = {0, 1, 0, 1, 0, 1, 0, 1, 0},
                                          dst = {256, 128, 64, 32, 16, 8, 4, 2, 1};
  const absl::Status s = CopyStridedRun(launch(), a.data(), 0, src, b.data(), 0, dst, shape, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("9 dimensions"), std::string::npos) << s;
  EXPECT_FALSE(CopyStridedRun(launch(), a.data(), 0, {1}, b.data(), 0, {1, 1}, {2, 2}, 4).ok());
}

// Values that stress every conversion: halfway cases, subnormals, overflow,
// NaN and infinities, integer extremes.
std::vector<float> CastFloats(std::mt19937 &rng) {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.5f, 2.5f, 65504.0f, 65520.0f, 65519.0f, 1e-8f,
                          6e-8f, -3e-5f, 1.0009765625f, 1.00048828125f, 3.0e38f, -3.4e38f,
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), kNaN, 2147483520.0f,
                          2147483648.0f, -2147483648.0f, 9.3e18f, -9.2233720e18f, 1.00390625f,
                          std::numeric_limits<float>::denorm_min(), 1.17e-38f};
  for (float x : RandomFloats(200, rng, 0.0f, 300.0f)) v.push_back(x);
  for (float x : RandomFloats(50, rng, 0.0f, 1e-4f)) v.push_back(x);
  return v;
}

std::vector<int64_t> CastInts(std::mt19937 &rng) {
  std::vector<int64_t> v = {0, 1, -1, 255, 256, 257, 2049, -2049, 65519, 65520, 70000,
                            (1 << 25) + (1 << 17) + 1, 2147483647, -2147483648LL,
                            4294967297LL, INT64_MAX, INT64_MIN, 9007199254740993LL};
  std::uniform_int_distribution<int64_t> dist(-(int64_t{1} << 40), int64_t{1} << 40);
  for (int i = 0; i < 200; ++i) v.push_back(i % 2 ? dist(rng) : dist(rng) >> 20);
  return v;
}

TEST_P(CudaKernelEmulationTest, CastMatchesTheCpuKernelBitForBit) {
  const std::vector<float> floats = CastFloats(rng);
  const std::vector<int64_t> ints = CastInts(rng);
  const DType types[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64};
  for (DType from : types) {
    // The source values in `from`, made by the CPU kernel from f32 or i64.
    const bool is_int = from == DType::kI32 || from == DType::kI64;
    const int64_t n = is_int ? ints.size() : floats.size();
    std::vector<char> src(n * DTypeSize(from));
    if (is_int)
      cpu::Cast(ints.data(), DType::kI64, src.data(), from, n);
    else
      cpu::Cast(floats.data(), DType::kF32, src.data(), from, n);
    for (DType to : types) {
      const size_t bytes = n * DTypeSize(to);
      std::vector<char> want(bytes, 0x5a), got(bytes, 0x5a);
      cpu::Cast(src.data(), from, want.data(), to, n);
      ASSERT_TRUE(CastRun(launch(), src.data(), from, got.data(), to, n).ok());
      for (int64_t i = 0; i < n; ++i) {
        const size_t s = DTypeSize(to);
        ASSERT_EQ(0, std::memcmp(got.data() + i * s, want.data() + i * s, s))
            << DTypeName(from) << " -> " << DTypeName(to) << ", element " << i;
      }
    }
  }
}

TEST_P(CudaKernelEmulationTest, PackAndUnpackMatchTheExecutorsBlocks) {
  for (auto [outer, parts, width] : {std::tuple<int64_t, int, int64_t>{3, 4, 12}, {5, 3, 7},
                                     {1, 1, 8}, {2, 5, 6}, {4, 2, 16}, {7, 3, 2}}) {
    for (int shift : {0, 1}) {  // 1: misaligned, the byte path
      const int64_t n = outer * parts * width;
      std::vector<unsigned char> src(n + 1), want(n + 1, 0), got(n + 1, 0);
      for (auto &b : src) b = static_cast<unsigned char>(rng());
      PackSlices(src.data() + shift, want.data() + shift, outer, parts, width);
      ASSERT_TRUE(PackSlicesRun(launch(), src.data() + shift, got.data() + shift, outer, parts,
                                width, false).ok());
      EXPECT_EQ(got, want) << "pack " << outer << "x" << parts << "x" << width;
      UnpackSlices(src.data() + shift, want.data() + shift, outer, parts, width);
      ASSERT_TRUE(PackSlicesRun(launch(), src.data() + shift, got.data() + shift, outer, parts,
                                width, true).ok());
      EXPECT_EQ(got, want) << "unpack " << outer << "x" << parts << "x" << width;
    }
  }
}

// ---------------------------------------------------------------- reduce

// ReduceRun as the launcher runs it: plan, scratch (NaN, so that a partial
// no thread writes shows), kernels.
absl::Status RunReduce(const EmulatedLaunch &launch, const float *x, float *y,
                       const std::vector<int64_t> &shape, const std::vector<bool> &red, int kind) {
  ReducePlan p;
  if (absl::Status s = PlanReduction(shape, red, kind, p); !s.ok()) return s;
  std::vector<double> scratch(ReduceScratch(p), kNaN);
  ReduceRun(launch, x, y, p, kind, scratch.data());
  return absl::OkStatus();
}

TEST_P(CudaKernelEmulationTest, ReduceMatchesTheCpuKernel) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 4}, {5, 1, 7, 3}, {1}, {9}, {0, 3}, {4, 1, 1, 6}};
  for (const auto &shape : shapes) {
    const size_t rank = shape.size();
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    std::vector<float> x = RandomFloats(n, rng, 0.5f, 3.0f);
    if (n > 5) x[5] = kNaN;  // max lets NaN through, as numpy
    for (unsigned mask = 0; mask < (1u << rank); ++mask) {
      std::vector<bool> red(rank);
      int64_t out = 1;
      for (size_t i = 0; i < rank; ++i) {
        red[i] = mask >> i & 1;
        if (!red[i]) out *= shape[i];
      }
      for (int kind : {0, 1, 2}) {
        std::vector<float> want(out), got(out, kNaN);
        cpu::Reduce(x.data(), want.data(), shape, red, static_cast<cpu::ReduceKind>(kind));
        ASSERT_TRUE(RunReduce(launch(), x.data(), got.data(), shape, red, kind).ok());
        ExpectClose(got, want, "reduce kind " + std::to_string(kind) + " mask " + std::to_string(mask));
      }
    }
  }
}

struct FastReduceCase {
  std::vector<int64_t> shape;
  std::vector<bool> red;
  ReduceSplit::Path path;
  int64_t chunks;  // the split's, so that a change of the heuristics shows
};

// Shapes for the fast paths and their edges, with the split they must take.
const FastReduceCase kFastReduceCases[] = {
    {{300, 64}, {true, false}, ReduceSplit::kColumns, 37},
    {{37, 1100}, {true, false}, ReduceSplit::kColumns, 4},       // C > 1024, ragged chunks
    {{4, 5, 6, 7}, {true, true, false, false}, ReduceSplit::kColumns, 2},  // merges to 20 x 42
    {{3, 20, 1, 40}, {false, true, true, false}, ReduceSplit::kColumns, 2},  // an outer kept dim
    {{16, 9}, {true, false}, ReduceSplit::kColumns, 2},
    {{15, 9}, {true, false}, ReduceSplit::kGeneric, 1},  // one chunk: the generic walk
    {{1, 700}, {true, false}, ReduceSplit::kGeneric, 1},  // R of 1
    {{40, 1}, {true, false}, ReduceSplit::kRows, 1},     // C of 1: a row of 40
    {{2, 3, 17, 5}, {false, false, true, true}, ReduceSplit::kRows, 1},
    {{7, 1, 33}, {false, true, true}, ReduceSplit::kRows, 1},
    {{6, 31}, {false, true}, ReduceSplit::kGeneric, 1},  // narrower than a warp
    {{2, 16500}, {false, true}, ReduceSplit::kRows, 2},   // pieces of rows, 1024 threads
    {{33000}, {true}, ReduceSplit::kRows, 3},             // a whole tensor to a scalar
    {{5, 0}, {false, true}, ReduceSplit::kGeneric, 1},    // mean of nothing: NaN
    {{0, 5}, {true, false}, ReduceSplit::kGeneric, 1},
    {{0, 5}, {false, true}, ReduceSplit::kGeneric, 1},    // no outputs
};

TEST_P(CudaKernelEmulationTest, ReduceFastPathsMatchTheCpuKernel) {
  for (const FastReduceCase &k : kFastReduceCases) {
    std::string name;
    for (int64_t s : k.shape) name += std::to_string(s) + " ";
    ReducePlan p;
    ASSERT_TRUE(PlanReduction(k.shape, k.red, 0, p).ok()) << name;
    const ReduceSplit split = SplitReduction(p);
    EXPECT_EQ(split.path, k.path) << name;
    EXPECT_EQ(split.chunks, k.chunks) << name;
    int64_t n = 1;
    for (int64_t s : k.shape) n *= s;
    std::vector<float> x = RandomFloats(n, rng, 0.5f, 3.0f);
    for (bool specials : {false, true}) {
      if (specials && n > 40) {
        // NaN wins max and makes a mean NaN; an infinity elsewhere.
        x[n / 3] = kNaN;
        x[n - 2] = std::numeric_limits<float>::infinity();
        x[n / 7] = -std::numeric_limits<float>::infinity();
      }
      for (int kind : {0, 1, 2}) {
        std::vector<float> want(p.out_size), got(p.out_size, kNaN);
        cpu::Reduce(x.data(), want.data(), k.shape, k.red, static_cast<cpu::ReduceKind>(kind));
        ASSERT_TRUE(RunReduce(launch(), x.data(), got.data(), k.shape, k.red, kind).ok());
        ExpectClose(got, want, "reduce " + name + "kind " + std::to_string(kind) +
                                   (specials ? " with NaN and infinities" : ""));
      }
    }
  }
}

TEST_P(CudaKernelEmulationTest, ReduceIntMatchesTheCpuKernel) {
  const std::vector<int64_t> shape = {3, 4, 5};
  std::uniform_int_distribution<int64_t> dist(-(int64_t{1} << 31), (int64_t{1} << 31) - 1);
  std::vector<int64_t> x64(60);
  for (auto &v : x64) v = dist(rng);
  x64[7] = INT64_MAX;  // i64 sums wrap
  std::vector<int32_t> x32(x64.begin(), x64.end());
  for (unsigned mask = 0; mask < 8; ++mask) {
    const std::vector<bool> red = {bool(mask & 1), bool(mask & 2), bool(mask & 4)};
    int64_t out = 1;
    for (int i = 0; i < 3; ++i)
      if (!red[i]) out *= shape[i];
    for (int kind : {0, 1, 2}) {
      std::vector<int32_t> w32(out), g32(out, 7);
      cpu::ReduceInt(x32.data(), w32.data(), DType::kI32, shape, red, static_cast<cpu::ReduceKind>(kind));
      ASSERT_TRUE(ReduceIntRun(launch(), x32.data(), g32.data(), DType::kI32, shape, red, kind).ok());
      EXPECT_EQ(g32, w32) << "i32 kind " << kind << " mask " << mask;
      std::vector<int64_t> w64(out), g64(out, 7);
      cpu::ReduceInt(x64.data(), w64.data(), DType::kI64, shape, red, static_cast<cpu::ReduceKind>(kind));
      ASSERT_TRUE(ReduceIntRun(launch(), x64.data(), g64.data(), DType::kI64, shape, red, kind).ok());
      EXPECT_EQ(g64, w64) << "i64 kind " << kind << " mask " << mask;
    }
  }
  int32_t y;
  EXPECT_FALSE(ReduceIntRun(launch(), x32.data(), &y, DType::kF32, {2}, {true}, 0).ok());
  EXPECT_FALSE(ReduceIntRun(launch(), x32.data(), &y, DType::kI32, {2}, {true}, 3).ok());
}

// ---------------------------------------------------------------- norms

TEST_P(CudaKernelEmulationTest, SoftmaxGradMatchesTheCpuKernel) {
  // Contiguous rows (a block per row: fewer threads than elements, more,
  // a 1024-wide attention row) and strided ones (a thread per column).
  for (auto [outer, dim, inner] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 33, 1},
                                   {5, 1024, 1}, {2, 3001, 1}, {3, 17, 5}, {2, 1, 4}, {4, 128, 3}}) {
    const int64_t n = outer * dim * inner;
    std::vector<float> y(n);
    const std::vector<float> x = RandomFloats(n, rng, 0, 3), dy = RandomFloats(n, rng);
    cpu::Softmax(x.data(), y.data(), outer, dim, inner);
    std::vector<float> want(n), got(n, kNaN);
    cpu::SoftmaxGrad(y.data(), dy.data(), want.data(), outer, dim, inner);
    SoftmaxGradRun(launch(), y.data(), dy.data(), got.data(), outer, dim, inner);
    ExpectClose(got, want, "softmax grad");
    std::vector<float> in_place = dy;  // dx = dy, as an executor may plan it
    SoftmaxGradRun(launch(), y.data(), in_place.data(), in_place.data(), outer, dim, inner);
    ExpectClose(in_place, want, "softmax grad in place");
  }
}

TEST_P(CudaKernelEmulationTest, SoftmaxMatchesTheCpuKernel) {
  // Rows: one element, odd widths, rows fewer than a block's threads, a row
  // of 50257 (a block of 1024); strided: inner > 1.
  for (auto [outer, dim, inner] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 33, 1},
                                   {5, 1024, 1}, {2, 50257, 1}, {3, 17, 5}, {2, 1, 4}}) {
    const int64_t n = outer * dim * inner;
    const std::vector<float> x = RandomFloats(n, rng, 0.0f, 8.0f);
    std::vector<float> want(n), got(n, kNaN);
    cpu::Softmax(x.data(), want.data(), outer, dim, inner);
    SoftmaxRun(launch(), x.data(), got.data(), outer, dim, inner);
    ExpectClose(got, want, "softmax " + std::to_string(outer) + "x" + std::to_string(dim) + "x" +
                               std::to_string(inner));
    std::vector<float> in_place = x;  // y = x, as the executor may plan it
    SoftmaxRun(launch(), in_place.data(), in_place.data(), outer, dim, inner);
    ExpectClose(in_place, want, "softmax in place");
  }
}

TEST_P(CudaKernelEmulationTest, MaskedSoftmaxMatchesTheCpuAttentionsRows) {
  // Attention's scores as attention_gemm.h has them: rows of sk keys, row r
  // being query r % sq; causal rows see keys 0..query (cpu::Attention).
  for (auto [rows, sq, sk, causal] : {std::tuple<int64_t, int64_t, int64_t, bool>{6, 3, 3, true},
                                      {8, 4, 9, true}, {5, 5, 17, false}, {2, 1, 1, true},
                                      {4, 2, 1100, true}}) {
    const std::vector<float> x = RandomFloats(rows * sk, rng, 0.0f, 8.0f);
    std::vector<float> want(rows * sk, 0.0f), got = x;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t seen = causal ? std::min(sk, r % sq + 1) : sk;
      cpu::Softmax(x.data() + r * sk, want.data() + r * sk, 1, seen, 1);
    }
    MaskedSoftmaxRowsRun(launch(), got.data(), rows, sq, sk, causal);
    ExpectClose(got, want, "masked softmax " + std::to_string(rows) + "x" + std::to_string(sk));
  }
}

// Rows fewer than a block's warps, odd widths, GPT-2's 768, and more rows
// than ParamGradChunks (so chunks hold several rows).
const std::tuple<int64_t, int64_t> kNormShapes[] = {{1, 1},    {7, 33},  {16, 128}, {3, 1000},
                                                    {5, 2},    {9, 768}, {2, 769},  {300, 31}};

TEST_P(CudaKernelEmulationTest, LayerNormAndItsGradientMatchTheCpuKernels) {
  for (auto [rows, d] : kNormShapes) {
    const int64_t n = rows * d;
    const std::vector<float> x = RandomFloats(n, rng, 1.0f, 2.0f), dy = RandomFloats(n, rng),
                             gamma = RandomFloats(d, rng, 1.0f, 0.3f), beta = RandomFloats(d, rng);
    std::vector<float> want(n), got(n, kNaN);
    cpu::LayerNorm(x.data(), gamma.data(), beta.data(), want.data(), rows, d, 1e-5f);
    LayerNormRun(launch(), x.data(), gamma.data(), beta.data(), got.data(), rows, d, 1e-5f);
    ExpectClose(got, want, "layer norm");

    std::vector<float> wdx(n), wdg(d), wdb(d), gdx(n, kNaN), gdg(d, kNaN), gdb(d, kNaN);
    std::vector<double> stats(LayerNormGradScratch(rows, d), kNaN);
    cpu::LayerNormGrad(x.data(), gamma.data(), dy.data(), wdx.data(), wdg.data(), wdb.data(), rows, d, 1e-5f);
    LayerNormGradRun(launch(), x.data(), gamma.data(), dy.data(), gdx.data(), gdg.data(), gdb.data(),
                     rows, d, 1e-5f, stats.data());
    ExpectClose(gdx, wdx, "layer norm dx");
    ExpectClose(gdg, wdg, "layer norm dgamma");
    ExpectClose(gdb, wdb, "layer norm dbeta");

    // dx in place of dy, as the executor may plan it.
    std::vector<float> inplace = dy;
    LayerNormGradRun(launch(), x.data(), gamma.data(), inplace.data(), inplace.data(), gdg.data(),
                     gdb.data(), rows, d, 1e-5f, stats.data());
    ExpectClose(inplace, wdx, "layer norm dx in place of dy");
  }
}

TEST_P(CudaKernelEmulationTest, RmsNormAndItsGradientMatchTheCpuKernels) {
  for (auto [rows, d] : kNormShapes) {
    const int64_t n = rows * d;
    const std::vector<float> x = RandomFloats(n, rng, 0.3f, 2.0f), dy = RandomFloats(n, rng),
                             gamma = RandomFloats(d, rng, 1.0f, 0.3f);
    std::vector<float> want(n), got(n, kNaN);
    cpu::RmsNorm(x.data(), gamma.data(), want.data(), rows, d, 1e-6f);
    RmsNormRun(launch(), x.data(), gamma.data(), got.data(), rows, d, 1e-6f);
    ExpectClose(got, want, "rms norm");

    std::vector<float> wdx(n), wdg(d), gdx(n, kNaN), gdg(d, kNaN);
    std::vector<double> inv(RmsNormGradScratch(rows, d), kNaN);
    cpu::RmsNormGrad(x.data(), gamma.data(), dy.data(), wdx.data(), wdg.data(), rows, d, 1e-6f);
    RmsNormGradRun(launch(), x.data(), gamma.data(), dy.data(), gdx.data(), gdg.data(), rows, d,
                   1e-6f, inv.data());
    ExpectClose(gdx, wdx, "rms norm dx");
    ExpectClose(gdg, wdg, "rms norm dgamma");
  }
}

// ---------------------------------------------------------------- embeddings and losses

// ids (or labels) in [0, bound) in `type`'s layout.
std::vector<char> Ids(const std::vector<int64_t> &v, DType type) {
  std::vector<char> out(v.size() * DTypeSize(type));
  cpu::Cast(v.data(), DType::kI64, out.data(), type, v.size());
  return out;
}

std::vector<int64_t> RandomIds(int64_t n, int64_t bound, std::mt19937 &rng) {
  std::uniform_int_distribution<int64_t> dist(0, bound - 1);
  std::vector<int64_t> v(n);
  for (auto &x : v) x = dist(rng);
  return v;
}

// EmbeddingGradRun as the launcher runs it, with scratch of garbage.
absl::Status RunEmbeddingGrad(const EmulatedLaunch &launch, const void *ids, DType type,
                              const float *dy, float *dtable, int64_t vocab, int64_t d, int64_t n,
                              int64_t begin, int64_t total, int32_t *error) {
  std::vector<int64_t> scratch(EmbeddingGradScratch(n), -7);
  return EmbeddingGradRun(launch, ids, type, dy, dtable, vocab, d, n, begin, total, error,
                          scratch.data());
}

TEST_P(CudaKernelEmulationTest, EmbeddingAndItsGradientMatchTheCpuKernels) {
  for (DType type : {DType::kI32, DType::kI64}) {
    for (int64_t d : {1, 5, 33}) {
      for (auto [vocab, begin, total] : {std::tuple<int64_t, int64_t, int64_t>{11, 0, 0}, {4, 3, 11}}) {
        const int64_t n = 17, ids_bound = total > 0 ? total : vocab;
        const std::vector<int64_t> id_values = RandomIds(n, ids_bound, rng);
        const std::vector<char> ids = Ids(id_values, type);
        const std::vector<float> table = RandomFloats(vocab * d, rng), dy = RandomFloats(n * d, rng);
        int32_t error = 0;
        std::vector<float> want(n * d), got(n * d, kNaN);
        ASSERT_TRUE(cpu::Embedding(table.data(), vocab, d, ids.data(), type, n, want.data(), begin, total).ok());
        ASSERT_TRUE(EmbeddingRun(launch(), table.data(), vocab, d, ids.data(), type, n, got.data(),
                                 begin, total, &error).ok());
        EXPECT_EQ(error, 0);
        ExpectClose(got, want, "embedding");

        std::vector<float> wdt(vocab * d), gdt(vocab * d, kNaN);
        ASSERT_TRUE(cpu::EmbeddingGrad(ids.data(), type, dy.data(), wdt.data(), vocab, d, n, begin, total).ok());
        ASSERT_TRUE(RunEmbeddingGrad(launch(), ids.data(), type, dy.data(), gdt.data(), vocab, d, n,
                                     begin, total, &error).ok());
        EXPECT_EQ(error, 0);
        ExpectClose(gdt, wdt, "embedding grad");
      }
    }
  }
}

TEST_P(CudaKernelEmulationTest, EmbeddingFlagsTheFirstBadIdAndZerosItsRow) {
  const int64_t vocab = 6, d = 4, n = 10;
  std::vector<int64_t> id_values = RandomIds(n, vocab, rng);
  id_values[7] = -1;
  id_values[4] = 6;  // the first bad one
  const std::vector<float> table = RandomFloats(vocab * d, rng), dy = RandomFloats(n * d, rng);
  for (DType type : {DType::kI32, DType::kI64}) {
    const std::vector<char> ids = Ids(id_values, type);
    // The CPU kernel names the same position.
    std::vector<float> scratch(n * d);
    const absl::Status cpu_says = cpu::Embedding(table.data(), vocab, d, ids.data(), type, n, scratch.data());
    EXPECT_NE(cpu_says.message().find("at position 4"), std::string::npos) << cpu_says;

    int32_t error = 0;
    std::vector<float> got(n * d, kNaN);
    ASSERT_TRUE(EmbeddingRun(launch(), table.data(), vocab, d, ids.data(), type, n, got.data(), 0, 0, &error).ok());
    EXPECT_EQ(error, 1 + 4);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < d; ++c)
        EXPECT_EQ(got[i * d + c], i == 4 || i == 7 ? 0.0f : table[id_values[i] * d + c]);

    // The gradient skips the bad ids: the CPU kernel on the good ones.
    std::vector<int64_t> good_ids = id_values;
    std::vector<float> good_dy = dy;
    for (int64_t i : {4, 7}) {
      good_ids[i] = 0;
      std::fill(good_dy.begin() + i * d, good_dy.begin() + (i + 1) * d, 0.0f);
    }
    const std::vector<char> good = Ids(good_ids, type);
    std::vector<float> want(vocab * d), dt(vocab * d, kNaN);
    ASSERT_TRUE(cpu::EmbeddingGrad(good.data(), type, good_dy.data(), want.data(), vocab, d, n).ok());
    error = 0;
    ASSERT_TRUE(RunEmbeddingGrad(launch(), ids.data(), type, dy.data(), dt.data(), vocab, d, n, 0, 0, &error).ok());
    EXPECT_EQ(error, 1 + 4);
    ExpectClose(dt, want, "embedding grad with bad ids");
  }
  int32_t error = 0;
  std::vector<float> out(n * d);
  EXPECT_EQ(EmbeddingRun(launch(), table.data(), vocab, d, id_values.data(), DType::kF32, n,
                         out.data(), 0, 0, &error).code(),
            absl::StatusCode::kInvalidArgument);
}

// Many tokens on few rows, over several tiles of the ranking (256 tokens on
// the launchers' grid, 64 on the tiny one): a repeated id's rows are added
// in token order, as the CPU adds them, so the table is the same bits. dy
// spans magnitudes, so another order would round differently.
TEST_P(CudaKernelEmulationTest, EmbeddingGradAddsRepeatedIdsInTokenOrder) {
  for (DType type : {DType::kI32, DType::kI64}) {
    for (auto [n, d, vocab, begin, total] :
         {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{600, 3, 20, 0, 0},
          {700, 40, 7, 5, 19},    // a shard: rows [5, 12) of 19
          {300, 1, 300, 0, 0},    // one column, rows hit at most a few times
          {1, 9, 4, 0, 0}}) {
      const std::vector<int64_t> id_values = RandomIds(n, total > 0 ? total : vocab, rng);
      const std::vector<char> ids = Ids(id_values, type);
      std::vector<float> dy = RandomFloats(n * d, rng);
      for (int64_t i = 0; i < n * d; i += 3) dy[i] *= 1e4f;
      std::vector<float> want(vocab * d), got(vocab * d, kNaN);
      ASSERT_TRUE(cpu::EmbeddingGrad(ids.data(), type, dy.data(), want.data(), vocab, d, n, begin, total).ok());
      int32_t error = 0;
      ASSERT_TRUE(RunEmbeddingGrad(launch(), ids.data(), type, dy.data(), got.data(), vocab, d, n,
                                   begin, total, &error).ok());
      EXPECT_EQ(error, 0);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << "n " << n << " d " << d << " vocab " << vocab << " begin " << begin;
    }
  }
}

// Bad ids among many: the first is reported, every bad one skipped; with
// d = 0 the ids are still checked.
TEST_P(CudaKernelEmulationTest, EmbeddingGradReportsTheFirstBadIdOfMany) {
  const int64_t n = 500, vocab = 9;
  std::vector<int64_t> id_values = RandomIds(n, vocab, rng);
  id_values[450] = -3;
  id_values[321] = vocab;  // the first bad one
  id_values[499] = int64_t{1} << 40;
  for (DType type : {DType::kI32, DType::kI64}) {
    std::vector<int64_t> v = id_values;
    if (type == DType::kI32) v[499] = 1 << 30;
    const std::vector<char> ids = Ids(v, type);
    for (int64_t d : {0, 6}) {
      const std::vector<float> dy = RandomFloats(n * d, rng);
      std::vector<int64_t> good_ids = v;
      std::vector<float> good_dy = dy;
      for (int64_t i : {321, 450, 499}) {
        good_ids[i] = 0;
        std::fill(good_dy.begin() + i * d, good_dy.begin() + (i + 1) * d, 0.0f);
      }
      const std::vector<char> good = Ids(good_ids, type);
      std::vector<float> want(vocab * d), got(vocab * d, kNaN);
      ASSERT_TRUE(cpu::EmbeddingGrad(good.data(), type, good_dy.data(), want.data(), vocab, d, n).ok());
      int32_t error = 0;
      ASSERT_TRUE(RunEmbeddingGrad(launch(), ids.data(), type, dy.data(), got.data(), vocab, d, n, 0,
                                   0, &error).ok());
      EXPECT_EQ(error, 1 + 321) << "d " << d;
      ExpectClose(got, want, "embedding grad with bad ids, d " + std::to_string(d));
    }
  }
}

TEST_P(CudaKernelEmulationTest, CrossEntropyAndItsGradientMatchTheCpuKernels) {
  for (DType type : {DType::kI32, DType::kI64}) {
    for (auto [rows, classes] : {std::tuple<int64_t, int64_t>{1, 1}, {7, 5}, {40, 77}, {64, 1000}, {3, 50257}}) {
      const std::vector<float> logits = RandomFloats(rows * classes, rng, 0.0f, 4.0f);
      const std::vector<char> labels = Ids(RandomIds(rows, classes, rng), type);
      float want = kNaN, got = kNaN;
      int32_t error = 0;
      std::vector<double> losses(rows, kNaN);
      ASSERT_TRUE(cpu::CrossEntropy(logits.data(), labels.data(), type, rows, classes, &want).ok());
      ASSERT_TRUE(CrossEntropyRun(launch(), logits.data(), labels.data(), type, rows, classes, &got,
                                  &error, losses.data()).ok());
      EXPECT_EQ(error, 0);
      ExpectClose({got}, {want}, "cross-entropy");

      const float dloss = 1.7f;
      std::vector<float> wd(rows * classes), gd(rows * classes, kNaN);
      ASSERT_TRUE(cpu::CrossEntropyGrad(logits.data(), labels.data(), type, &dloss, wd.data(), rows, classes).ok());
      ASSERT_TRUE(CrossEntropyGradRun(launch(), logits.data(), labels.data(), type, &dloss, gd.data(),
                                      rows, classes, &error).ok());
      EXPECT_EQ(error, 0);
      ExpectClose(gd, wd, "cross-entropy grad");

      std::vector<float> in_place = logits;  // dlogits = logits, as the executor may plan it
      ASSERT_TRUE(CrossEntropyGradRun(launch(), in_place.data(), labels.data(), type, &dloss,
                                      in_place.data(), rows, classes, &error).ok());
      ExpectClose(in_place, wd, "cross-entropy grad in place");
    }
  }
}

TEST_P(CudaKernelEmulationTest, CrossEntropyFlagsTheFirstBadLabel) {
  const int64_t rows = 6, classes = 4;
  const std::vector<float> logits = RandomFloats(rows * classes, rng);
  std::vector<int64_t> label_values = RandomIds(rows, classes, rng);
  label_values[5] = 4;
  label_values[2] = -3;
  for (DType type : {DType::kI32, DType::kI64}) {
    const std::vector<char> labels = Ids(label_values, type);
    float cpu_loss;
    const absl::Status cpu_says = cpu::CrossEntropy(logits.data(), labels.data(), type, rows, classes, &cpu_loss);
    EXPECT_NE(cpu_says.message().find("at row 2"), std::string::npos) << cpu_says;
    int32_t error = 0;
    float loss;
    std::vector<double> losses(rows);
    ASSERT_TRUE(CrossEntropyRun(launch(), logits.data(), labels.data(), type, rows, classes, &loss,
                                &error, losses.data()).ok());
    EXPECT_EQ(error, 1 + 2);
    error = 0;
    const float dloss = 1.0f;
    std::vector<float> d(rows * classes, kNaN);
    ASSERT_TRUE(CrossEntropyGradRun(launch(), logits.data(), labels.data(), type, &dloss, d.data(),
                                    rows, classes, &error).ok());
    EXPECT_EQ(error, 1 + 2);
    for (int64_t j = 0; j < classes; ++j) {
      EXPECT_EQ(d[2 * classes + j], 0.0f);
      EXPECT_EQ(d[5 * classes + j], 0.0f);
    }
  }
}

TEST_P(CudaKernelEmulationTest, VocabShardStatsAndItsGradientMatchTheCpuKernels) {
  for (DType type : {DType::kI32, DType::kI64}) {
    for (auto [rows, classes, begin, total] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{7, 5, 5, 20},
                                               {1, 1, 0, 3}, {33, 100, 100, 300},
                                               {2, 50257, 0, 50257}, {3, 25129, 25128, 50257}}) {
      const std::vector<float> logits = RandomFloats(rows * classes, rng, 0.0f, 3.0f);
      std::vector<float> max(rows);
      for (int64_t r = 0; r < rows; ++r)  // the global max is at least the shard's
        max[r] = *std::max_element(logits.begin() + r * classes, logits.begin() + (r + 1) * classes) +
                 std::abs(RandomFloats(1, rng)[0]);
      std::vector<int64_t> label_values = RandomIds(rows, total, rng);
      label_values[0] = begin;  // one label surely in the shard
      const std::vector<char> labels = Ids(label_values, type);
      std::vector<float> want(2 * rows), got(2 * rows, kNaN);
      int32_t error = 0;
      ASSERT_TRUE(cpu::VocabShardStats(logits.data(), labels.data(), type, max.data(), want.data(), rows,
                                       classes, begin, total).ok());
      ASSERT_TRUE(VocabShardStatsRun(launch(), logits.data(), labels.data(), type, max.data(), got.data(),
                                     rows, classes, begin, total, &error).ok());
      EXPECT_EQ(error, 0);
      ExpectClose(got, want, "vocab shard stats");

      const std::vector<float> dstats = RandomFloats(2 * rows, rng);
      std::vector<float> wd(rows * classes), gd(rows * classes, kNaN);
      ASSERT_TRUE(cpu::VocabShardStatsGrad(logits.data(), labels.data(), type, max.data(), dstats.data(),
                                           wd.data(), rows, classes, begin, total).ok());
      ASSERT_TRUE(VocabShardStatsGradRun(launch(), logits.data(), labels.data(), type, max.data(),
                                         dstats.data(), gd.data(), rows, classes, begin, total, &error).ok());
      EXPECT_EQ(error, 0);
      ExpectClose(gd, wd, "vocab shard stats grad");

      // A label outside [0, total) is flagged and its row left as zeros.
      label_values[rows - 1] = total;
      const std::vector<char> bad = Ids(label_values, type);
      ASSERT_TRUE(VocabShardStatsRun(launch(), logits.data(), bad.data(), type, max.data(), got.data(),
                                     rows, classes, begin, total, &error).ok());
      EXPECT_EQ(error, rows);
      EXPECT_EQ(got[2 * rows - 2], 0.0f);
      error = 0;
      ASSERT_TRUE(VocabShardStatsGradRun(launch(), logits.data(), bad.data(), type, max.data(),
                                         dstats.data(), gd.data(), rows, classes, begin, total, &error).ok());
      EXPECT_EQ(error, rows);
      EXPECT_EQ(gd[(rows - 1) * classes], 0.0f);
    }
  }
}

// ---------------------------------------------------------------- attention

// b, h, sq, sk, dh, dv. The kernels work in 64 x 64 tiles (64-column
// chunks of dh and dv): these cover one tile and several, partial tiles,
// sk != sq both ways (causal included), dh < 2 (no room for the gradient's
// stats in dq), an empty sequence and head, and odd widths. Every grid runs
// the small ones; the serialized schedules are slow (a thread at a time), so
// the larger ones run on the launchers' grid only.
using AttentionCase = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
const AttentionCase kAttentionCases[] = {
    {1, 1, 1, 1, 1, 1}, {2, 3, 5, 5, 4, 4}, {1, 2, 7, 9, 3, 5}, {2, 1, 9, 6, 8, 2},
    {1, 2, 16, 16, 2, 7}, {1, 1, 4, 4, 0, 3}, {1, 1, 3, 0, 4, 4}, {1, 1, 33, 40, 16, 16},
    {1, 1, 17, 70, 3, 8}, {1, 1, 70, 17, 8, 3}, {1, 1, 66, 65, 1, 5}, {1, 1, 65, 66, 0, 2}};
const AttentionCase kLargeAttentionCases[] = {
    {1, 2, 130, 130, 80, 64}, {2, 1, 64, 130, 128, 72}, {1, 1, 130, 64, 64, 128},
    {1, 1, 130, 1, 3, 1}, {1, 1, 1, 130, 8, 80}, {1, 1, 131, 129, 1, 3}};

void CheckAttention(const EmulatedLaunch &launch, const AttentionCase &c, std::mt19937 &rng) {
  const auto [b, h, sq, sk, dh, dv] = c;
  for (bool causal : {false, true}) {
    const std::string what = "b" + std::to_string(b) + " h" + std::to_string(h) + " sq" +
                             std::to_string(sq) + " sk" + std::to_string(sk) + " dh" +
                             std::to_string(dh) + " dv" + std::to_string(dv) +
                             (causal ? " causal" : "");
    // A scale that makes scores of a few units: exp differs across a row.
    const float scale = dh > 16 ? 1.0f / std::sqrt(float(dh)) * 2.0f : 0.7f;
    const std::vector<float> q = RandomFloats(b * h * sq * dh, rng),
                             k = RandomFloats(b * h * sk * dh, rng),
                             v = RandomFloats(b * h * sk * dv, rng),
                             dout = RandomFloats(b * h * sq * dv, rng);
    std::vector<float> want(b * h * sq * dv), got(want.size(), kNaN);
    cpu::Attention(q.data(), k.data(), v.data(), want.data(), b, h, sq, sk, dh, dv, causal, scale);
    const AttentionShape shape{b * h, sq, sk, dh, dv, causal, scale};
    AttentionRun(launch, q.data(), k.data(), v.data(), got.data(), shape);
    ExpectClose(got, want, "attention " + what);

    std::vector<float> wdq(q.size()), wdk(k.size()), wdv(v.size());
    std::vector<float> gdq(q.size(), kNaN), gdk(k.size(), kNaN), gdv(v.size(), kNaN);
    cpu::AttentionGrad(q.data(), k.data(), v.data(), dout.data(), wdq.data(), wdk.data(), wdv.data(),
                       b, h, sq, sk, dh, dv, causal, scale);
    AttentionGradRun(launch, q.data(), k.data(), v.data(), dout.data(), gdq.data(), gdk.data(),
                     gdv.data(), shape);
    // The gradients are sums that cancel (dS = P (dP - D)): the CPU
    // kernel's float GEMMs are themselves only ~1e-5 of the tensor's
    // scale from a double reference (measured), so small elements are
    // compared to 1e-5 of the largest.
    ExpectClose(gdq, wdq, "attention dq " + what, 1e-5, std::max(1e-6, 1e-5 * MaxAbs(wdq)));
    ExpectClose(gdk, wdk, "attention dk " + what, 1e-5, std::max(1e-6, 1e-5 * MaxAbs(wdk)));
    ExpectClose(gdv, wdv, "attention dv " + what, 1e-5, std::max(1e-6, 1e-5 * MaxAbs(wdv)));
  }
}

TEST_P(CudaKernelEmulationTest, AttentionAndItsGradientMatchTheCpuKernels) {
  for (const AttentionCase &c : kAttentionCases) CheckAttention(launch(), c, rng);
}

TEST_P(CudaKernelEmulationTest, LargerAttentionMatchesTheCpuKernels) {
  if (GetParam() != Grid::kLaunchers) GTEST_SKIP() << "the serialized schedules run the small cases";
  for (const AttentionCase &c : kLargeAttentionCases) CheckAttention(launch(), c, rng);
}

// ---------------------------------------------------------------- optimizers

TEST_P(CudaKernelEmulationTest, OptimizerUpdatesMatchTheCpuKernels) {
  for (int64_t n : {1, 1000, 4099}) {
    for (float step : {1.0f, 5.0f}) {
      const std::vector<float> p = RandomFloats(n, rng), g = RandomFloats(n, rng),
                               buf = RandomFloats(n, rng), m = RandomFloats(n, rng, 0, 0.1f);
      std::vector<float> v = RandomFloats(n, rng, 0, 0.01f);
      for (float &x : v) x = x * x;
      std::vector<float> wp(n), wb(n), gp(n, kNaN), gb(n, kNaN);
      cpu::SgdUpdate(p.data(), g.data(), buf.data(), step, wp.data(), wb.data(), n, 0.1f, 0.9f, 0.01f);
      SgdUpdateRun(launch(), p.data(), g.data(), buf.data(), &step, gp.data(), gb.data(), n, 0.1f, 0.9f, 0.01f);
      ExpectClose(gp, wp, "sgd param");
      ExpectClose(gb, wb, "sgd buffer");

      std::vector<float> wm(n), wv(n), gm(n, kNaN), gv(n, kNaN);
      cpu::AdamwUpdate(p.data(), g.data(), m.data(), v.data(), step, wp.data(), wm.data(), wv.data(), n,
                       1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f);
      AdamwUpdateRun(launch(), p.data(), g.data(), m.data(), v.data(), &step, gp.data(), gm.data(),
                     gv.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f);
      ExpectClose(gp, wp, "adamw param");
      ExpectClose(gm, wm, "adamw m");
      ExpectClose(gv, wv, "adamw v");

      // In place, as the executor runs it.
      std::vector<float> ip = p, im = m, iv = v;
      AdamwUpdateRun(launch(), ip.data(), g.data(), im.data(), iv.data(), &step, ip.data(), im.data(),
                     iv.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f);
      ExpectClose(ip, wp, "adamw param in place");
    }
  }
}

// ---------------------------------------------------------------- collectives

// The in-process communicator's all-reduce of `bufs` (one rank each): the
// oracle for ReduceBuffers.
std::vector<char> InProcessAllReduce(const std::vector<std::vector<char>> &bufs, int64_t count,
                                     DType dtype, ReduceKind kind) {
  const int size = static_cast<int>(bufs.size());
  auto group = CreateInProcessGroup(size);
  std::vector<std::vector<char>> out(size, std::vector<char>(bufs[0].size()));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      EXPECT_TRUE(group[r]->AllReduce(bufs[r].data(), out[r].data(), count, dtype, kind).ok());
    });
  for (auto &t : threads) t.join();
  return out[0];
}

TEST_P(CudaKernelEmulationTest, ReduceBuffersMatchesTheInProcessCommunicator) {
  const int64_t count = 301;
  for (int parts : {1, 3, 8}) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64}) {
      std::vector<std::vector<char>> bufs;
      std::vector<const void *> ptrs;
      for (int r = 0; r < parts; ++r) {
        std::vector<float> f = RandomFloats(count, rng, 0.0f, 100.0f);
        if (dtype == DType::kI32) f[0] = 2.0e9f;  // i32 sums wrap
        bufs.emplace_back(count * DTypeSize(dtype));
        cpu::Cast(f.data(), DType::kF32, bufs.back().data(), dtype, count);
      }
      for (auto &b : bufs) ptrs.push_back(b.data());
      for (int kind = 0; kind < 4; ++kind) {
        const std::vector<char> want = InProcessAllReduce(bufs, count, dtype, static_cast<ReduceKind>(kind));
        std::vector<char> got(want.size(), 0x7f);
        ASSERT_TRUE(ReduceBuffersRun(launch(), ptrs.data(), parts, got.data(), count, dtype, kind).ok());
        EXPECT_EQ(got, want) << parts << " parts of " << DTypeName(dtype) << ", kind " << kind;
      }
    }
  }
  char out[4];
  const void *none[1] = {out};
  EXPECT_FALSE(ReduceBuffersRun(launch(), none, 0, out, 1, DType::kF32, 0).ok());
  EXPECT_FALSE(ReduceBuffersRun(launch(), none, 1, out, 1, DType::kF32, 4).ok());
}

// ---------------------------------------------------------------- the emulation itself

// Test kernels: a block sum done right (BlockSum), and two broken ones the
// emulation must catch.

__global__ void BlockSumKernel(const float *x, int64_t n, float *out) {
  __shared__ float scratch[32];
  float v = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) v += x[j];
  v = BlockSum(v, scratch);
  out[threadIdx.x] = v;  // every thread's view
}

// The barrier between writing the warps' partials and reading them is missing.
__global__ void BlockSumMissingBarrierKernel(const float *x, int64_t n, float *out) {
  __shared__ float partial[32];
  float v = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) v += x[j];
  v = WarpSum(v);
  if (Lane() == 0) partial[threadIdx.x / 32] = v;
  v = WarpSum(Lane() < blockDim.x / 32 ? partial[Lane()] : 0.0f);
  out[threadIdx.x] = v;
}

// Two block sums in a row whose shared scratch is reused without the
// trailing barrier: a warp ahead overwrites a partial another has not read.
__global__ void TwoSumsMissingTrailingBarrierKernel(const float *x, int64_t n, float *out) {
  __shared__ float partial[32];
  float sums[2];
  for (int k = 0; k < 2; ++k) {
    float v = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) v += x[j] * (k + 1);
    v = WarpSum(v);
    if (Lane() == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    sums[k] = WarpSum(Lane() < blockDim.x / 32 ? partial[Lane()] : 0.0f);
  }
  out[2 * threadIdx.x] = sums[0];
  out[2 * threadIdx.x + 1] = sums[1];
}

// A warp sum by shuffles, with offsets `first` down to 1 (16 is right).
__global__ void WarpSumOffsetsKernel(const float *x, int first, bool down, float *out) {
  float v = x[threadIdx.x];
  for (int o = first; o > 0; o /= 2)
    v += down ? __shfl_down_sync(kFullMask, v, o) : __shfl_xor_sync(kFullMask, v, o);
  out[threadIdx.x] = v;
}

// Threads past the first warp leave before the barrier.
__global__ void DivergentBarrierKernel(float *out) {
  if (threadIdx.x >= 32) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

constexpr Schedule kSchedules[] = {Schedule::kConcurrent, Schedule::kForward, Schedule::kReverse};

// 1..n, so a sum of any strict subset differs from the whole.
std::vector<float> Counting(int64_t n) {
  std::vector<float> x(n);
  std::iota(x.begin(), x.end(), 1.0f);
  return x;
}

TEST(CudaBlockEmulationTest, ABlockSumIsExactUnderEverySchedule) {
  const std::vector<float> x = Counting(1000);  // exact in float
  for (Schedule schedule : kSchedules)
    for (unsigned threads : {32u, 64u, 256u, 1024u}) {
      std::vector<float> out(threads, kNaN);
      emulation::EmulateBlocks(1, threads, schedule, false, BlockSumKernel, x.data(), int64_t{1000},
                               out.data());
      EXPECT_EQ(out, std::vector<float>(threads, 500500.0f)) << threads << " threads";
    }
}

// Shared memory is not cleared between launches (static storage, as on a
// GPU it holds whatever was there), so each launch here sums other values
// than the one before: a stale partial is a wrong one.
TEST(CudaBlockEmulationTest, AMissingBarrierGivesAWrongSum) {
  std::vector<float> x = Counting(256), out(256, kNaN);
  // Forward: warp 0 reads the other warps' partials before they exist.
  emulation::EmulateBlocks(1, 256, Schedule::kForward, false, BlockSumMissingBarrierKernel, x.data(),
                           int64_t{256}, out.data());
  EXPECT_NE(out[0], 32896.0f);
  // Reverse: the last warp (the first to run) does.
  for (float &v : x) v *= 2;
  emulation::EmulateBlocks(1, 256, Schedule::kReverse, false, BlockSumMissingBarrierKernel, x.data(),
                           int64_t{256}, out.data());
  EXPECT_NE(out[255], 2 * 32896.0f);
  // With the barrier, both are right.
  for (Schedule schedule : {Schedule::kForward, Schedule::kReverse}) {
    emulation::EmulateBlocks(1, 256, schedule, false, BlockSumKernel, x.data(), int64_t{256}, out.data());
    EXPECT_EQ(out, std::vector<float>(256, 2 * 32896.0f));
  }
}

TEST(CudaBlockEmulationTest, AMissingTrailingBarrierGivesAWrongSum) {
  std::vector<float> x = Counting(256), out(512, kNaN);
  // Reverse: every warp overwrites its partial with the second sum's before
  // warp 0 (the last to run) reads the first sum's.
  emulation::EmulateBlocks(1, 256, Schedule::kReverse, false, TwoSumsMissingTrailingBarrierKernel,
                           x.data(), int64_t{256}, out.data());
  EXPECT_NE(out[0], 32896.0f);
  // Forward: warp 0 overwrites partial[0] before warp 1 has read it.
  for (float &v : x) v *= 3;
  emulation::EmulateBlocks(1, 256, Schedule::kForward, false, TwoSumsMissingTrailingBarrierKernel,
                           x.data(), int64_t{256}, out.data());
  EXPECT_NE(out[2 * 32], 3 * 32896.0f);
}

TEST(CudaBlockEmulationTest, ShufflesFollowTheirLaneRules) {
  const std::vector<float> x = Counting(64);  // two warps: 1..32 and 33..64
  for (Schedule schedule : kSchedules) {
    std::vector<float> out(64, kNaN);
    // Right: xor from 16 gives every lane its warp's sum; down gives lane 0.
    emulation::EmulateBlocks(1, 64, schedule, false, WarpSumOffsetsKernel, x.data(), 16, false, out.data());
    EXPECT_EQ(out[5], 528.0f);
    EXPECT_EQ(out[40], 1552.0f);
    emulation::EmulateBlocks(1, 64, schedule, false, WarpSumOffsetsKernel, x.data(), 16, true, out.data());
    EXPECT_EQ(out[0], 528.0f);
    EXPECT_EQ(out[32], 1552.0f);
    // shfl_down past the warp's end keeps the lane's own value: lane 31 adds
    // itself at every step (5 steps: 32 * 32).
    EXPECT_EQ(out[31], 1024.0f);
    // A wrong offset (starting at 8) leaves half the warp out.
    emulation::EmulateBlocks(1, 64, schedule, false, WarpSumOffsetsKernel, x.data(), 8, false, out.data());
    EXPECT_NE(out[0], 528.0f);
    EXPECT_EQ(out[0], 136.0f);  // lanes 0..15: 1 + ... + 16
  }
}

TEST(CudaBlockEmulationTest, ABarrierNotEveryThreadReachesAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> out(64);
  EXPECT_DEATH(emulation::EmulateBlocks(1, 64, Schedule::kConcurrent, false, DivergentBarrierKernel,
                                        out.data()),
               "not reached by every thread");
  EXPECT_DEATH(emulation::EmulateBlocks(1, 64, Schedule::kForward, false, DivergentBarrierKernel,
                                        out.data()),
               "not reached by every thread");
}

// The launchers' reductions are in a fixed order: the same bits every run,
// however the threads interleave.
TEST(CudaBlockEmulationTest, CooperativeKernelsAreDeterministic) {
  std::mt19937 rng(7);
  const int64_t rows = 3, classes = 50257, d = 768, norm_rows = 20;
  const std::vector<float> logits = RandomFloats(rows * classes, rng, 0.0f, 4.0f);
  const std::vector<int32_t> labels = {5, 50000, 17};
  const std::vector<float> x = RandomFloats(norm_rows * d, rng), dy = RandomFloats(norm_rows * d, rng),
                           gamma = RandomFloats(d, rng, 1.0f, 0.3f);
  const EmulatedLaunch launch{Grid::kLaunchers};
  std::vector<float> first;
  for (int run = 0; run < 3; ++run) {
    std::vector<float> got(rows * classes + 2 * d + norm_rows * d + 1);
    std::vector<double> losses(rows), scratch(LayerNormGradScratch(norm_rows, d));
    int32_t error = 0;
    const float dloss = 1.0f;
    float *p = got.data();
    ASSERT_TRUE(CrossEntropyRun(launch, logits.data(), labels.data(), DType::kI32, rows, classes, p,
                                &error, losses.data()).ok());
    ASSERT_TRUE(CrossEntropyGradRun(launch, logits.data(), labels.data(), DType::kI32, &dloss, p + 1,
                                    rows, classes, &error).ok());
    p += 1 + rows * classes;
    LayerNormGradRun(launch, x.data(), gamma.data(), dy.data(), p, p + norm_rows * d,
                     p + norm_rows * d + d, norm_rows, d, 1e-5f, scratch.data());
    if (run == 0)
      first = got;
    else
      EXPECT_EQ(0, std::memcmp(got.data(), first.data(), got.size() * sizeof(float))) << "run " << run;
  }
}

// The column reductions and EmbeddingGrad fold in an order fixed by the
// shape alone: the same bits on the launchers' grid and the tiny ones. Row
// reductions fold in an order fixed by the block size: the same bits run
// to run.
TEST(CudaBlockEmulationTest, ReductionsAndEmbeddingGradAreTheSameOnEveryGrid) {
  std::mt19937 rng(11);
  const std::vector<float> x = RandomFloats(3 * 200 * 70, rng, 1.0f, 100.0f);
  const std::vector<int64_t> id_values = RandomIds(900, 13, rng);
  const std::vector<char> ids = Ids(id_values, DType::kI32);
  const std::vector<float> dy = RandomFloats(900 * 24, rng);
  std::vector<float> first;
  for (Grid grid : {Grid::kLaunchers, Grid::kTinyForward, Grid::kTinyReverse, Grid::kLaunchers}) {
    const EmulatedLaunch launch{grid};
    std::vector<float> got(3 * 70 + 70 + 13 * 24, kNaN);
    ASSERT_TRUE(RunReduce(launch, x.data(), got.data(), {3, 200, 70}, {false, true, false}, 0).ok());
    ASSERT_TRUE(RunReduce(launch, x.data(), got.data() + 3 * 70, {600, 70}, {true, false}, 2).ok());
    int32_t error = 0;
    ASSERT_TRUE(RunEmbeddingGrad(launch, ids.data(), DType::kI32, dy.data(), got.data() + 4 * 70, 13,
                                 24, 900, 0, 0, &error).ok());
    if (first.empty())
      first = got;
    else
      EXPECT_EQ(0, std::memcmp(got.data(), first.data(), got.size() * sizeof(float)));
  }
  const EmulatedLaunch launch{Grid::kLaunchers};
  std::vector<float> rows[2];
  for (auto &y : rows) {
    y.assign(3, kNaN);
    ASSERT_TRUE(RunReduce(launch, x.data(), y.data(), {3, 14000}, {false, true}, 0).ok());
  }
  EXPECT_EQ(0, std::memcmp(rows[0].data(), rows[1].data(), 3 * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Grids, CudaKernelEmulationTest,
                         ::testing::Values(Grid::kLaunchers, Grid::kTinyForward, Grid::kTinyReverse),
                         [](const auto &info) {
                           return info.param == Grid::kLaunchers     ? "LaunchersGrid"
                                  : info.param == Grid::kTinyForward ? "TinyGridForward"
                                                                     : "TinyGridReverse";
                         });

}  // namespace
}  // namespace weft::cuda::kernels

// The CUDA backend's fallback epilogue kernel (kernels/gemm_epilogue.cuh,
// used when cuBLASLt cannot fuse a Matmul's epilogue) run on the host
// through CudaEmulation.h against cpu::ApplyGemmEpilogue (itself checked
// against the formulas in GemmEpilogueTest.cc), on the launchers' grid and
// on a tiny grid walked in reverse so the grid-stride loop wraps.
#include "CudaEmulation.h"

#include "runtime/cuda/kernels/gemm_epilogue.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "RandomFloats.h"
#include "runtime/cpu/gemm_epilogue.h"

namespace weft::cuda::kernels {
namespace {

using artifact::GemmEpilogue;

struct TinyOrFullLaunch {
  bool tiny;
  template <typename... P, typename... A>
  void operator()(void (*kernel)(P...), int64_t work, A... args) const {
    if (work <= 0) return;
    if (tiny)
      emulation::Emulate(2, 3, /*reverse=*/true, kernel, args...);
    else
      emulation::Emulate(BlocksFor(work), kThreads, /*reverse=*/false, kernel, args...);
  }
};

TEST(CudaGemmEpilogueEmulation, MatchesTheCpuEpilogue) {
  const int64_t rows = 7, n = 37;
  std::mt19937 rng(7);
  const std::vector<float> product = cpu::RandomFloats(rows * n, rng, 0, 2);
  const std::vector<float> bias = cpu::RandomFloats(n, rng), extra = cpu::RandomFloats(rows * n, rng);
  for (bool tiny : {false, true})
    for (GemmEpilogue kind : {GemmEpilogue::kBias, GemmEpilogue::kBiasResidual,
                              GemmEpilogue::kBiasGeluTanh, GemmEpilogue::kDGeluTanh,
                              GemmEpilogue::kDGeluTanhBGrad})
      for (bool keep : {false, true}) {
        if (keep && kind != GemmEpilogue::kBiasGeluTanh) continue;
        std::vector<float> want = product, got = product;
        std::vector<float> want_pre(rows * n, NAN), got_pre(rows * n, NAN);
        // dgelu_tanh+bgrad's kernel part is dgelu_tanh's (gemm.cc sums the
        // rows with the Reduce kernel after it).
        cpu::ApplyGemmEpilogue(kind == GemmEpilogue::kDGeluTanhBGrad ? GemmEpilogue::kDGeluTanh : kind,
                               want.data(), bias.data(), extra.data(),
                               keep ? want_pre.data() : nullptr, rows, n);
        GemmEpilogueRun(TinyOrFullLaunch{tiny}, kind, got.data(), bias.data(), extra.data(),
                        keep ? got_pre.data() : nullptr, rows, n);
        for (int64_t i = 0; i < rows * n; ++i) {
          ASSERT_NEAR(got[i], want[i], 1e-5 * std::abs(want[i]) + 1e-6)
              << artifact::GemmEpilogueName(kind) << (tiny ? " tiny grid" : "") << " at " << i;
          if (keep) ASSERT_EQ(got_pre[i], want_pre[i]) << "product + bias at " << i;
        }
      }
}

}  // namespace
}  // namespace weft::cuda::kernels

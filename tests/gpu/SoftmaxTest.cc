// The CUDA softmax against the CPU backend's (cpu::Softmax) on fresh random
// inputs, with the output poisoned first so an unwritten element fails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "../runtime/RandomFloats.h"
#include "RequireGpu.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/softmax.h"

namespace weft::cuda {
namespace {

// outer, dim, inner
class CudaSoftmax : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t>> {};

TEST_P(CudaSoftmax, MatchesTheCpuKernel) {
  WEFT_REQUIRE_GPUS(1);
  const auto [outer, dim, inner] = GetParam();
  const int64_t n = outer * dim * inner;
  std::mt19937 rng(static_cast<uint32_t>(n * 31 + dim));
  // Wide logits (std 8) so that the max subtraction matters.
  const std::vector<float> x = cpu::RandomFloats(n, rng, 0.0f, 8.0f);
  std::vector<float> want(n), got(n, 0.0f);
  cpu::Softmax(x.data(), want.data(), outer, dim, inner);

  auto d = Device::Create(0, 2 * n * sizeof(float));
  ASSERT_TRUE(d.ok()) << d.status();
  float *dx = static_cast<float *>(*(*d)->ArenaAt(0, n * sizeof(float)));
  float *dy = static_cast<float *>(*(*d)->ArenaAt(n * sizeof(float), n * sizeof(float)));
  ASSERT_TRUE((*d)->CopyToDevice(dx, x.data(), n * sizeof(float)).ok());
  ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dy, 0xFF, n * sizeof(float), (*d)->compute_stream())).ok());
  ASSERT_TRUE(Softmax(dx, dy, outer, dim, inner, (*d)->compute_stream()).ok());
  ASSERT_TRUE((*d)->Synchronize().ok());
  ASSERT_TRUE((*d)->CopyToHost(got.data(), dy, n * sizeof(float)).ok());
  double err = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " was not written";
    err += double(got[i] - want[i]) * (got[i] - want[i]);
    ref += double(want[i]) * want[i];
  }
  EXPECT_LE(std::sqrt(err / ref), 1e-5);

  // In place, as the executor may plan it.
  ASSERT_TRUE(Softmax(dx, dx, outer, dim, inner, (*d)->compute_stream()).ok());
  std::vector<float> in_place(n);
  ASSERT_TRUE((*d)->CopyToHost(in_place.data(), dx, n * sizeof(float)).ok());
  EXPECT_EQ(in_place, got);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaSoftmax,
    ::testing::Values(std::make_tuple(1, 1, 1), std::make_tuple(7, 33, 1),
                      std::make_tuple(96, 1024, 1),      // attention scores: rows of a block each
                      std::make_tuple(8, 50257, 1),      // GPT-2 logits: a row larger than a block
                      std::make_tuple(3, 17, 5), std::make_tuple(4, 128, 300)),  // strided
    [](const auto &info) {
      return "o" + std::to_string(std::get<0>(info.param)) + "_d" +
             std::to_string(std::get<1>(info.param)) + "_i" + std::to_string(std::get<2>(info.param));
    });

}  // namespace
}  // namespace weft::cuda

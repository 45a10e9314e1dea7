// Attention as GEMMs (runtime/cuda/attention_gemm.h), forward and backward,
// against the CPU backend's kernels (cpu::Attention, cpu::AttentionGrad) on
// random inputs: causal and not, more keys than queries, dh != dv, a head
// size of 1. f32 throughout (no TF32), so 1e-5 relative on the whole tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../runtime/RandomFloats.h"
#include "RequireGpu.h"
#include "runtime/cpu/bf16_inputs.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cuda/attention_gemm.h"
#include "runtime/cuda/device.h"

namespace weft::cuda {
namespace {

double RelativeError(const std::vector<float> &got, const std::vector<float> &want) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(got[i])) return INFINITY;
    err += double(got[i] - want[i]) * (got[i] - want[i]);
    ref += double(want[i]) * want[i];
  }
  return std::sqrt(err / std::max(ref, 1e-30));
}

class AttentionGemmVsCpu : public ::testing::TestWithParam<AttentionShape> {};

TEST_P(AttentionGemmVsCpu, ForwardAndBackward) {
  WEFT_REQUIRE_GPUS(1);
  const AttentionShape s = GetParam();
  const int64_t hd = s.b * s.h, nq = hd * s.sq * s.dh, nk = hd * s.sk * s.dh,
                nv = hd * s.sk * s.dv, no = hd * s.sq * s.dv;
  std::mt19937 rng(static_cast<uint32_t>(nq + 3 * nk + 7 * nv));
  std::vector<float> q = cpu::RandomFloats(nq, rng), k = cpu::RandomFloats(nk, rng),
                     v = cpu::RandomFloats(nv, rng), dout = cpu::RandomFloats(no, rng);
  std::vector<float> out(no), dq(nq), dk(nk), dv(nv);
  cpu::Attention(q.data(), k.data(), v.data(), out.data(), s.b, s.h, s.sq, s.sk, s.dh, s.dv,
                 s.causal, s.scale);
  cpu::AttentionGrad(q.data(), k.data(), v.data(), dout.data(), dq.data(), dk.data(), dv.data(),
                     s.b, s.h, s.sq, s.sk, s.dh, s.dv, s.causal, s.scale);

  const int64_t tensors = 4 * (nq + nk + nv + no + nq + nk + nv + no) + 8 * 256;
  auto d = Device::Create(0, tensors + 3 * ScoresBytes(s) + 256);
  ASSERT_TRUE(d.ok()) << d.status();
  int64_t at = 0;
  auto take = [&](int64_t bytes) {
    void *p = *(*d)->ArenaAt(at, bytes);
    at += (bytes + 255) / 256 * 256;
    return static_cast<float *>(p);
  };
  float *gq = take(nq * 4), *gk = take(nk * 4), *gv = take(nv * 4), *gdout = take(no * 4);
  float *gout = take(no * 4), *gdq = take(nq * 4), *gdk = take(nk * 4), *gdv = take(nv * 4);
  void *scratch = take(3 * ScoresBytes(s));
  ASSERT_TRUE((*d)->CopyToDevice(gq, q.data(), nq * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gk, k.data(), nk * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gv, v.data(), nv * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gdout, dout.data(), no * 4).ok());
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  const cudaStream_t stream = (*d)->compute_stream();
  ASSERT_TRUE(AttentionByGemm(**gemm, gq, gk, gv, gout, s, scratch, stream).ok());
  ASSERT_TRUE(AttentionGradByGemm(**gemm, gq, gk, gv, gdout, gdq, gdk, gdv, s, scratch, stream).ok());
  ASSERT_TRUE((*d)->Synchronize().ok());
  auto fetch = [&](const float *p, int64_t n) {
    std::vector<float> h(n);
    EXPECT_TRUE((*d)->CopyToHost(h.data(), p, n * 4).ok());
    return h;
  };
  EXPECT_LE(RelativeError(fetch(gout, no), out), 1e-5) << "out";
  EXPECT_LE(RelativeError(fetch(gdq, nq), dq), 1e-5) << "dq";
  EXPECT_LE(RelativeError(fetch(gdk, nk), dk), 1e-5) << "dk";
  EXPECT_LE(RelativeError(fetch(gdv, nv), dv), 1e-5) << "dv";
}

// --precision=bf16: the executor hands the operands rounded to bf16 (as f32)
// and as bf16; q k^T and dout v^T then run as bf16 GEMMs. Against the CPU
// backend's bf16-input kernels: only the order of f32 sums differs.
TEST_P(AttentionGemmVsCpu, Bf16OperandsOnTensorCores) {
  WEFT_REQUIRE_GPUS(1);
  const AttentionShape s = GetParam();
  const int64_t hd = s.b * s.h, nq = hd * s.sq * s.dh, nk = hd * s.sk * s.dh,
                nv = hd * s.sk * s.dv, no = hd * s.sq * s.dv;
  std::mt19937 rng(static_cast<uint32_t>(5 * nq + nk + 3 * nv));
  std::vector<float> x[4] = {cpu::RandomFloats(nq, rng), cpu::RandomFloats(nk, rng),
                             cpu::RandomFloats(nv, rng), cpu::RandomFloats(no, rng)};
  const int64_t n[4] = {nq, nk, nv, no};
  std::vector<float> out(no), dq(nq), dk(nk), dv(nv);
  cpu::AttentionBf16Inputs(x[0].data(), x[1].data(), x[2].data(), out.data(), s.b, s.h, s.sq,
                           s.sk, s.dh, s.dv, s.causal, s.scale);
  cpu::AttentionGradBf16Inputs(x[0].data(), x[1].data(), x[2].data(), x[3].data(), dq.data(),
                               dk.data(), dv.data(), s.b, s.h, s.sq, s.sk, s.dh, s.dv, s.causal,
                               s.scale);
  // What the executor passes: the rounded values, as f32 and as bf16.
  std::vector<uint16_t> x16[4];
  for (int i = 0; i < 4; ++i) {
    x16[i].resize(n[i]);
    for (int64_t j = 0; j < n[i]; ++j) {
      x16[i][j] = cpu::F32ToBf16(x[i][j]);
      x[i][j] = cpu::Bf16ToF32(x16[i][j]);
    }
  }
  const int64_t tensors = 6 * (nq + nk + nv + no) + 4 * (nq + nk + nv + no) + 16 * 256;
  auto d = Device::Create(0, tensors + 3 * ScoresBytes(s) + 256);
  ASSERT_TRUE(d.ok()) << d.status();
  int64_t at = 0;
  auto take = [&](int64_t bytes) {
    void *p = *(*d)->ArenaAt(at, bytes);
    at += (bytes + 255) / 256 * 256;
    return p;
  };
  float *g[4];
  uint16_t *g16[4];
  for (int i = 0; i < 4; ++i) {
    g[i] = static_cast<float *>(take(n[i] * 4));
    g16[i] = static_cast<uint16_t *>(take(n[i] * 2));
    ASSERT_TRUE((*d)->CopyToDevice(g[i], x[i].data(), n[i] * 4).ok());
    ASSERT_TRUE((*d)->CopyToDevice(g16[i], x16[i].data(), n[i] * 2).ok());
  }
  float *gout = static_cast<float *>(take(no * 4)), *gdq = static_cast<float *>(take(nq * 4)),
        *gdk = static_cast<float *>(take(nk * 4)), *gdv = static_cast<float *>(take(nv * 4));
  void *scratch = take(3 * ScoresBytes(s));
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  const cudaStream_t stream = (*d)->compute_stream();
  const Bf16Operands bf16{g16[0], g16[1], g16[2], g16[3]};
  ASSERT_TRUE(AttentionByGemm(**gemm, g[0], g[1], g[2], gout, s, scratch, stream, bf16).ok());
  ASSERT_TRUE(AttentionGradByGemm(**gemm, g[0], g[1], g[2], g[3], gdq, gdk, gdv, s, scratch,
                                  stream, bf16)
                  .ok());
  ASSERT_TRUE((*d)->Synchronize().ok());
  auto fetch = [&](const float *p, int64_t count) {
    std::vector<float> h(count);
    EXPECT_TRUE((*d)->CopyToHost(h.data(), p, count * 4).ok());
    return h;
  };
  EXPECT_LE(RelativeError(fetch(gout, no), out), 1e-5) << "out";
  EXPECT_LE(RelativeError(fetch(gdq, nq), dq), 1e-5) << "dq";
  EXPECT_LE(RelativeError(fetch(gdk, nk), dk), 1e-5) << "dk";
  EXPECT_LE(RelativeError(fetch(gdv, nv), dv), 1e-5) << "dv";

  // WEFT_CUDA_BF16_GEMM=fast: the probabilities' products round to bf16
  // inside the GEMM too; within bf16's rounding of the same numbers.
  Bf16Operands fast = bf16;
  fast.fast_products = true;
  ASSERT_TRUE(AttentionByGemm(**gemm, g[0], g[1], g[2], gout, s, scratch, stream, fast).ok());
  ASSERT_TRUE(AttentionGradByGemm(**gemm, g[0], g[1], g[2], g[3], gdq, gdk, gdv, s, scratch,
                                  stream, fast)
                  .ok());
  ASSERT_TRUE((*d)->Synchronize().ok());
  EXPECT_LE(RelativeError(fetch(gout, no), out), 1e-2) << "out (fast)";
  EXPECT_LE(RelativeError(fetch(gdq, nq), dq), 1e-2) << "dq (fast)";
  EXPECT_LE(RelativeError(fetch(gdk, nk), dk), 1e-2) << "dk (fast)";
  EXPECT_LE(RelativeError(fetch(gdv, nv), dv), 1e-2) << "dv (fast)";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionGemmVsCpu,
    ::testing::Values(AttentionShape{1, 1, 8, 8, 4, 4, false, 0.5f},
                      AttentionShape{2, 3, 17, 17, 8, 8, true, 0.35f},
                      AttentionShape{2, 2, 5, 13, 6, 3, false, 0.4f},   // more keys, dh != dv
                      AttentionShape{1, 2, 9, 9, 1, 1, true, 1.0f},     // head size 1
                      AttentionShape{2, 12, 256, 256, 64, 64, true, 0.125f}),
    [](const ::testing::TestParamInfo<AttentionShape> &info) {
      const AttentionShape &s = info.param;
      return "b" + std::to_string(s.b) + "h" + std::to_string(s.h) + "_sq" + std::to_string(s.sq) +
             "_sk" + std::to_string(s.sk) + "_dh" + std::to_string(s.dh) + "_dv" +
             std::to_string(s.dv) + (s.causal ? "_causal" : "");
    });

}  // namespace
}  // namespace weft::cuda

// Attention as GEMMs (runtime/cuda/attention_gemm.h), forward and backward,
// against the CPU backend's kernels (cpu::Attention, cpu::AttentionGrad) on
// random inputs: causal and not, more keys than queries, dh != dv, a head
// size of 1. f32 throughout (no TF32), so 1e-5 relative on the whole tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../runtime/RandomFloats.h"
#include "ArenaSlices.h"
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

// One GEMM attention forward and backward on the device, each result
// against its CPU value to `tol` (relative L2).
struct DeviceAttention {
  const float *q, *k, *v, *dout;
  float *out, *dq, *dk, *dv;
};
struct HostResults {
  const std::vector<float> &out, &dq, &dk, &dv;
};
void RunAndCompare(Device &d, Gemm &gemm, const DeviceAttention &g, const AttentionShape &s,
                   void *scratch, const Bf16Operands &bf16, const HostResults &want, double tol,
                   const std::string &what) {
  const cudaStream_t stream = d.compute_stream();
  ASSERT_TRUE(AttentionByGemm(gemm, g.q, g.k, g.v, g.out, s, scratch, stream, bf16).ok());
  ASSERT_TRUE(
      AttentionGradByGemm(gemm, g.q, g.k, g.v, g.dout, g.dq, g.dk, g.dv, s, scratch, stream, bf16)
          .ok());
  ASSERT_TRUE(d.Synchronize().ok());
  auto check = [&](const float *p, const std::vector<float> &w, const char *name) {
    std::vector<float> h(w.size());
    ASSERT_TRUE(d.CopyToHost(h.data(), p, h.size() * 4).ok());
    EXPECT_LE(RelativeError(h, w), tol) << name << what;
  };
  check(g.out, want.out, "out");
  check(g.dq, want.dq, "dq");
  check(g.dk, want.dk, "dk");
  check(g.dv, want.dv, "dv");
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
  ArenaSlices arena(**d);
  auto take = [&](int64_t n) { return arena.Take<float>(n * 4); };
  float *gq = take(nq), *gk = take(nk), *gv = take(nv), *gdout = take(no);
  float *gout = take(no), *gdq = take(nq), *gdk = take(nk), *gdv = take(nv);
  void *scratch = arena.Take(3 * ScoresBytes(s));
  ASSERT_TRUE((*d)->CopyToDevice(gq, q.data(), nq * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gk, k.data(), nk * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gv, v.data(), nv * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(gdout, dout.data(), no * 4).ok());
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  RunAndCompare(**d, **gemm, {gq, gk, gv, gdout, gout, gdq, gdk, gdv}, s, scratch, {},
                {out, dq, dk, dv}, 1e-5, "");
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
  ArenaSlices arena(**d);
  float *g[4];
  uint16_t *g16[4];
  for (int i = 0; i < 4; ++i) {
    g[i] = arena.Take<float>(n[i] * 4);
    g16[i] = arena.Take<uint16_t>(n[i] * 2);
    ASSERT_TRUE((*d)->CopyToDevice(g[i], x[i].data(), n[i] * 4).ok());
    ASSERT_TRUE((*d)->CopyToDevice(g16[i], x16[i].data(), n[i] * 2).ok());
  }
  float *gout = arena.Take<float>(no * 4), *gdq = arena.Take<float>(nq * 4),
        *gdk = arena.Take<float>(nk * 4), *gdv = arena.Take<float>(nv * 4);
  void *scratch = arena.Take(3 * ScoresBytes(s));
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  const DeviceAttention dev{g[0], g[1], g[2], g[3], gout, gdq, gdk, gdv};
  Bf16Operands bf16{g16[0], g16[1], g16[2], g16[3]};
  RunAndCompare(**d, **gemm, dev, s, scratch, bf16, {out, dq, dk, dv}, 1e-5, "");
  // WEFT_CUDA_BF16_GEMM=fast: the probabilities' products round to bf16
  // inside the GEMM too; within bf16's rounding of the same numbers.
  bf16.fast_products = true;
  RunAndCompare(**d, **gemm, dev, s, scratch, bf16, {out, dq, dk, dv}, 1e-2, " (fast)");
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

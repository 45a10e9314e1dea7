// The cuBLASLt GEMM (runtime/cuda/gemm.h) against the CPU backend's
// cpu::Matmul on fresh random inputs, every transpose and batch layout, the
// output poisoned first. f32 must agree to 1e-5 (no TF32); bf16 operands are
// compared with the CPU product of the same bf16-rounded values, to bf16's
// output rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "../runtime/RandomFloats.h"
#include "ArenaSlices.h"
#include "RequireGpu.h"
#include "runtime/cpu/bf16_inputs.h"
#include "runtime/cpu/gemm_epilogue.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/gemm.h"
#include "runtime/cuda/kernels.h"

namespace weft::cuda {
namespace {

// Loading needs no GPU: the library and its entry points are checked everywhere.
TEST(CudaGemm, CublasLtLoadsOnDemand) {
  absl::StatusOr<const CublasLt *> lt = LoadCublasLt();
  ASSERT_TRUE(lt.ok()) << lt.status();
  EXPECT_GE((*lt)->GetVersion(), 130000u);
}

struct GemmCase {
  GemmShape shape;
  DType dtype;
};

std::string NameOf(const GemmCase &c) {
  const GemmShape &s = c.shape;
  return std::string(DTypeName(c.dtype)) + "_b" + std::to_string(s.batch) + "_m" +
         std::to_string(s.m) + "_n" + std::to_string(s.n) + "_k" + std::to_string(s.k) +
         (s.transpose_a ? "_ta" : "") + (s.transpose_b ? "_tb" : "") + (s.b_batched ? "_bb" : "");
}
void PrintTo(const GemmCase &c, std::ostream *os) { *os << NameOf(c); }

class CudaGemmVsCpu : public ::testing::TestWithParam<GemmCase> {};

TEST_P(CudaGemmVsCpu, Matches) {
  WEFT_REQUIRE_GPUS(1);
  const GemmShape s = GetParam().shape;
  const DType dtype = GetParam().dtype;
  const bool bf16 = dtype == DType::kBF16;
  const int64_t na = s.batch * s.m * s.k, nb = (s.b_batched ? s.batch : 1) * s.k * s.n,
                nc = s.batch * s.m * s.n;
  std::mt19937 rng(static_cast<uint32_t>(na + 7 * nb + 13 * nc));
  std::vector<float> a = cpu::RandomFloats(na, rng), b = cpu::RandomFloats(nb, rng);
  // What the GPU gets, as bytes of `dtype`; the CPU reference takes the
  // same values (rounded to bf16 first when the GPU sees bf16).
  const size_t el = DTypeSize(dtype);
  std::vector<uint8_t> a_dev(na * el), b_dev(nb * el);
  cpu::Cast(a.data(), DType::kF32, a_dev.data(), dtype, na);
  cpu::Cast(b.data(), DType::kF32, b_dev.data(), dtype, nb);
  cpu::Cast(a_dev.data(), dtype, a.data(), DType::kF32, na);
  cpu::Cast(b_dev.data(), dtype, b.data(), DType::kF32, nb);
  std::vector<float> want(nc);
  cpu::Matmul(a.data(), b.data(), want.data(), s.batch, s.m, s.n, s.k, s.transpose_a,
              s.transpose_b, s.b_batched);

  auto d = Device::Create(0, (na + nb + nc) * el + 1024);
  ASSERT_TRUE(d.ok()) << d.status();
  void *da = *(*d)->ArenaAt(0, na * el), *db = *(*d)->ArenaAt(na * el, nb * el);
  void *dc = *(*d)->ArenaAt((na + nb) * el, nc * el);
  ASSERT_TRUE((*d)->CopyToDevice(da, a_dev.data(), na * el).ok());
  ASSERT_TRUE((*d)->CopyToDevice(db, b_dev.data(), nb * el).ok());
  ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dc, 0xFF, nc * el, (*d)->compute_stream())).ok());
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  const absl::Status run = (*gemm)->Run(da, db, dc, s, dtype, (*d)->compute_stream());
  ASSERT_TRUE(run.ok()) << run;
  ASSERT_TRUE((*d)->Synchronize().ok());
  std::vector<uint8_t> c_dev(nc * el);
  std::vector<float> got(nc);
  ASSERT_TRUE((*d)->CopyToHost(c_dev.data(), dc, nc * el).ok());
  cpu::Cast(c_dev.data(), dtype, got.data(), DType::kF32, nc);
  double err = 0, ref = 0;
  for (int64_t i = 0; i < nc; ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " was not written";
    err += double(got[i] - want[i]) * (got[i] - want[i]);
    ref += double(want[i]) * want[i];
  }
  EXPECT_LE(std::sqrt(err / ref), bf16 ? 8e-3 : 1e-5);
}

// --precision=bf16's matmul as the executor runs it: the f32 operands cast
// to bf16 on the device, a bf16 GEMM with f32 accumulation and an f32
// result, against cpu::MatmulBf16Inputs (the CPU backend's): only the order
// of the f32 sums differs.
TEST_P(CudaGemmVsCpu, Bf16InputsF32Output) {
  WEFT_REQUIRE_GPUS(1);
  const GemmShape s = GetParam().shape;
  if (GetParam().dtype != DType::kF32) GTEST_SKIP() << "one run per shape (the f32 cases)";
  const int64_t na = s.batch * s.m * s.k, nb = (s.b_batched ? s.batch : 1) * s.k * s.n,
                nc = s.batch * s.m * s.n;
  std::mt19937 rng(static_cast<uint32_t>(3 * na + nb + nc));
  std::vector<float> a = cpu::RandomFloats(na, rng), b = cpu::RandomFloats(nb, rng);
  std::vector<float> want(nc);
  cpu::MatmulBf16Inputs(a.data(), b.data(), want.data(), s.batch, s.m, s.n, s.k, s.transpose_a,
                        s.transpose_b, s.b_batched);
  auto d = Device::Create(0, (na + nb) * 6 + nc * 4 + 4096);
  ASSERT_TRUE(d.ok()) << d.status();
  ArenaSlices arena(**d);
  auto take = [&](int64_t bytes) { return arena.Take(bytes); };
  void *da = take(na * 4), *db = take(nb * 4), *a16 = take(na * 2), *b16 = take(nb * 2),
       *dc = take(nc * 4);
  ASSERT_TRUE((*d)->CopyToDevice(da, a.data(), na * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(db, b.data(), nb * 4).ok());
  const cudaStream_t stream = (*d)->compute_stream();
  ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dc, 0xFF, nc * 4, stream)).ok());
  ASSERT_TRUE(Cast(da, DType::kF32, a16, DType::kBF16, na, stream).ok());
  ASSERT_TRUE(Cast(db, DType::kF32, b16, DType::kBF16, nb, stream).ok());
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  const absl::Status run = (*gemm)->Run(a16, b16, dc, s, DType::kBF16, DType::kF32, stream);
  ASSERT_TRUE(run.ok()) << run;
  ASSERT_TRUE((*d)->Synchronize().ok());
  std::vector<float> got(nc);
  ASSERT_TRUE((*d)->CopyToHost(got.data(), dc, nc * 4).ok());
  double err = 0, ref = 0;
  for (int64_t i = 0; i < nc; ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " was not written";
    err += double(got[i] - want[i]) * (got[i] - want[i]);
    ref += double(want[i]) * want[i];
  }
  EXPECT_LE(std::sqrt(err / std::max(ref, 1e-30)), 1e-5);

  // WEFT_CUDA_BF16_GEMM=fast: cuBLAS down-converts the f32 operands itself
  // (to bf16, or to TF32): within bf16's rounding of the same product.
  GemmShape fast = s;
  fast.fast_bf16 = true;
  ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dc, 0xFF, nc * 4, stream)).ok());
  const absl::Status fast_run = (*gemm)->Run(da, db, dc, fast, DType::kF32, stream);
  ASSERT_TRUE(fast_run.ok()) << fast_run;
  ASSERT_TRUE((*d)->Synchronize().ok());
  ASSERT_TRUE((*d)->CopyToHost(got.data(), dc, nc * 4).ok());
  err = ref = 0;
  for (int64_t i = 0; i < nc; ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " was not written (fast)";
    err += double(got[i] - want[i]) * (got[i] - want[i]);
    ref += double(want[i]) * want[i];
  }
  EXPECT_LE(std::sqrt(err / std::max(ref, 1e-30)), 8e-3) << "fast bf16";
}

// A Matmul's epilogue (gemm.h GemmEpilogueArgs), inside cuBLASLt where it
// fuses and through the fallback kernel when forced, against cpu::Matmul
// then cpu::ApplyGemmEpilogue (the CPU backend's; GemmEpilogueTest.cc checks
// that one against the formulas). f32, so both must agree to 1e-5.
TEST_P(CudaGemmVsCpu, Epilogues) {
  WEFT_REQUIRE_GPUS(1);
  const GemmShape s = GetParam().shape;
  if (GetParam().dtype != DType::kF32) GTEST_SKIP() << "one run per shape (the f32 cases)";
  using artifact::GemmEpilogue;
  const int64_t na = s.batch * s.m * s.k, nb = (s.b_batched ? s.batch : 1) * s.k * s.n,
                nc = s.batch * s.m * s.n;
  std::mt19937 rng(static_cast<uint32_t>(5 * na + nb + nc));
  std::vector<float> a = cpu::RandomFloats(na, rng), b = cpu::RandomFloats(nb, rng),
                     bias = cpu::RandomFloats(s.n, rng), extra = cpu::RandomFloats(nc, rng);
  std::vector<float> product(nc);
  cpu::Matmul(a.data(), b.data(), product.data(), s.batch, s.m, s.n, s.k, s.transpose_a,
              s.transpose_b, s.b_batched);
  auto d = Device::Create(0, (na + nb + s.n + 4 * nc) * 4 + 8192);
  ASSERT_TRUE(d.ok()) << d.status();
  ArenaSlices arena(**d);
  auto take = [&](int64_t n) { return arena.Take<float>(n * 4); };
  float *da = take(na), *db = take(nb), *dbias = take(s.n), *dextra = take(nc), *dc = take(nc),
        *dpre = take(nc);
  ASSERT_TRUE((*d)->CopyToDevice(da, a.data(), na * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(db, b.data(), nb * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(dbias, bias.data(), s.n * 4).ok());
  ASSERT_TRUE((*d)->CopyToDevice(dextra, extra.data(), nc * 4).ok());
  const cudaStream_t stream = (*d)->compute_stream();
  auto gemm = Gemm::Create();
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  for (GemmEpilogue kind : {GemmEpilogue::kBias, GemmEpilogue::kBiasResidual,
                            GemmEpilogue::kBiasGeluTanh, GemmEpilogue::kDGeluTanh,
                            GemmEpilogue::kDGeluTanhBGrad})
    for (bool keep : {false, true})
      for (bool fallback : {false, true}) {
        if (keep && kind != GemmEpilogue::kBiasGeluTanh) continue;
        const std::string what = std::string(artifact::GemmEpilogueName(kind)) +
                                 (keep ? " keeping product + bias" : "") +
                                 (fallback ? " (fallback kernel)" : "");
        const bool bgrad = kind == GemmEpilogue::kDGeluTanhBGrad;
        std::vector<float> want = product, want_pre(nc), want_bgrad(s.n);
        cpu::ApplyGemmEpilogue(kind, want.data(), bias.data(), extra.data(),
                               keep ? want_pre.data() : bgrad ? want_bgrad.data() : nullptr,
                               s.batch * s.m, s.n);
        GemmEpilogueArgs e;
        e.kind = kind;
        e.force_fallback = fallback;
        if (kind == GemmEpilogue::kDGeluTanh || bgrad) {
          e.pre = dextra;
          if (bgrad) e.bias_grad = dbias;  // written, not read (bias is restored below)
        } else {
          e.bias = dbias;
          if (kind == GemmEpilogue::kBiasResidual) e.residual = dextra;
          if (keep) e.pre_out = dpre;
        }
        ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dc, 0xFF, nc * 4, stream)).ok());
        ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(dpre, 0xFF, nc * 4, stream)).ok());
        const absl::Status run = (*gemm)->Run(da, db, dc, s, DType::kF32, e, stream);
        ASSERT_TRUE(run.ok()) << what << ": " << run;
        ASSERT_TRUE((*d)->Synchronize().ok());
        std::vector<float> got(nc), got_pre(nc);
        ASSERT_TRUE((*d)->CopyToHost(got.data(), dc, nc * 4).ok());
        ASSERT_TRUE((*d)->CopyToHost(got_pre.data(), dpre, nc * 4).ok());
        // Relative L2 error: 1e-5 as the plain GEMM; GELU's tanh may be a
        // faster one in cuBLASLt than the CPU's, so 1e-4 there.
        const double tol = kind == GemmEpilogue::kBias || kind == GemmEpilogue::kBiasResidual
                               ? 1e-5 : 1e-4;
        auto expect_close = [&](const std::vector<float> &g, const std::vector<float> &w,
                                const std::string &which) {
          double err = 0, ref = 0;
          for (int64_t i = 0; i < nc; ++i) {
            ASSERT_FALSE(std::isnan(g[i])) << which << ": element " << i << " was not written";
            err += double(g[i] - w[i]) * (g[i] - w[i]);
            ref += double(w[i]) * w[i];
          }
          EXPECT_LE(std::sqrt(err / std::max(ref, 1e-30)), tol) << which;
        };
        expect_close(got, want, what);
        if (keep) expect_close(got_pre, want_pre, what + ": product + bias");
        if (bgrad) {
          std::vector<float> got_bgrad(s.n);
          ASSERT_TRUE((*d)->CopyToHost(got_bgrad.data(), dbias, s.n * 4).ok());
          double err = 0, ref = 0;
          for (int64_t j = 0; j < s.n; ++j) {
            err += double(got_bgrad[j] - want_bgrad[j]) * (got_bgrad[j] - want_bgrad[j]);
            ref += double(want_bgrad[j]) * want_bgrad[j];
          }
          EXPECT_LE(std::sqrt(err / std::max(ref, 1e-30)), 1e-4) << what << ": bias gradient";
          ASSERT_TRUE((*d)->CopyToDevice(dbias, bias.data(), s.n * 4).ok());
        }
      }
  std::printf("epilogues in cuBLASLt: %lld, as a kernel after it: %lld\n",
              static_cast<long long>((*gemm)->fused_epilogues()),
              static_cast<long long>((*gemm)->fallback_epilogues()));
  // cuBLASLt fuses at least the f32 bias (PyTorch's addmm relies on it) on
  // a shape of some size; otherwise the test above checked only the kernel.
  if (s.m >= 16 && s.n >= 16 && s.k > 0) EXPECT_GT((*gemm)->fused_epilogues(), 0);
}

std::vector<GemmCase> Cases() {
  std::vector<GemmCase> out;
  for (DType t : {DType::kF32, DType::kBF16}) {
    out.push_back({{1, 64, 48, 32}, t});
    out.push_back({{1, 1, 1, 1}, t});
    out.push_back({{1, 33, 17, 129}, t});
    out.push_back({{1, 40, 24, 16, true, false}, t});
    out.push_back({{1, 40, 24, 16, false, true}, t});
    out.push_back({{1, 40, 24, 16, true, true}, t});
    out.push_back({{6, 20, 12, 36, false, false, false}, t});  // shared b: folded into one GEMM
    out.push_back({{6, 20, 12, 36, true, false, false}, t});   // shared b, a transposed: stride 0
    out.push_back({{6, 20, 12, 36, false, true, true}, t});    // attention's q k^T
    out.push_back({{4, 64, 64, 0}, t});                        // an empty sum: zeros
  }
  out.push_back({{8, 1024, 768, 768}, DType::kBF16});  // a GPT-2 projection's shape
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaGemmVsCpu, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<GemmCase> &info) { return NameOf(info.param); });

}  // namespace
}  // namespace weft::cuda

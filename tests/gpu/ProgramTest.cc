// The cuda backend end to end, against the CPU backend: the same artifact
// (weftc --target=cuda), the same seed and batch, a few AdamW steps, the
// losses and the updated parameters compared. Then the parallel plans on
// virtual devices that share the one GPU (cuda-inprocess) against one
// device: dp=2 x tp=2 and pp=2 must give the same losses as 1 device.
// AdamW with eps 1e-6 and lr 3e-3, as tests/e2e/test_data_parallel.py has it.
// Artifacts: WEFT_GPU_PROGRAM_DIR (tests/gpu/CMakeLists.txt compiles them;
// tests/gpu/run.sh carries them). Skips without a GPU.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "RequireGpu.h"
#include "weft/runtime.h"

namespace weft {
namespace {

std::string ArtifactPath(const std::string &name) {
  const char *dir = std::getenv("WEFT_GPU_PROGRAM_DIR");
  return std::string(dir ? dir : WEFT_GPU_PROGRAM_DIR) + "/" + name;
}

// One batch for every step: integers below their bound, floats normal.
std::map<std::string, Tensor> Batch(const Program &p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, Tensor> batch;
  for (const TensorInfo &info : p.inputs()) {
    Tensor t(info.dtype, info.shape);
    const int64_t n = t.num_elements();
    const int64_t bound = info.int_bound > 0 ? info.int_bound : 16;
    for (int64_t i = 0; i < n; ++i) {
      if (info.dtype == DType::kI32) t.data_as<int32_t>()[i] = static_cast<int32_t>(rng() % bound);
      else if (info.dtype == DType::kI64) t.data_as<int64_t>()[i] = static_cast<int64_t>(rng() % bound);
      else t.data_as<float>()[i] = std::normal_distribution<float>()(rng);
    }
    batch[info.name] = t;
  }
  return batch;
}

struct Trained {
  std::vector<float> losses;
  std::map<std::string, Tensor> params;
};

Trained Train(const std::string &artifact, const std::string &backend,
              const std::string &communicator, int steps) {
  Trained out;
  RuntimeOptions options;
  options.backend = backend;
  options.communicator = communicator;
  auto runtime = Runtime::Create(options);
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  if (!runtime.ok()) return out;
  auto program = (*runtime)->Load(ArtifactPath(artifact));
  EXPECT_TRUE(program.ok()) << program.status();
  if (!program.ok()) return out;
  Program &p = **program;
  EXPECT_TRUE(p.InitParameters(7).ok());
  const std::map<std::string, Tensor> batch = Batch(p, 11);
  for (int s = 0; s < steps; ++s) {
    auto result = p.Run(batch);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return out;
    out.losses.push_back(result->at(p.loss_output()).data_as<float>()[0]);
  }
  for (const TensorInfo &info : p.parameters()) {
    auto t = p.GetParameter(info.name);
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) out.params[info.name] = *t;
  }
  return out;
}

// Losses to `loss_rtol`; each parameter's worst element to `param_tol` of
// the tensor's largest value (summation orders differ between the
// backends and meshes: see tests/e2e/test_data_parallel.py, whose bounds
// these are). The attention key bias has a zero gradient in exact
// arithmetic (softmax ignores a constant added to every score), so AdamW
// turns its rounding noise into steps: it must stay near zero instead.
void ExpectClose(const Trained &got, const Trained &want, double loss_rtol, double param_tol) {
  ASSERT_EQ(got.losses.size(), want.losses.size());
  for (size_t s = 0; s < want.losses.size(); ++s)
    EXPECT_NEAR(got.losses[s], want.losses[s], loss_rtol * std::fabs(want.losses[s]))
        << "loss at step " << s;
  for (const auto &[name, w] : want.params) {
    auto it = got.params.find(name);
    ASSERT_NE(it, got.params.end()) << name;
    const float *a = it->second.data_as<float>(), *b = w.data_as<float>();
    double scale = 0, worst = 0, largest = 0;
    int64_t where = 0;
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      scale = std::max(scale, std::fabs(double(b[i])));
      largest = std::max(largest, std::fabs(double(a[i])));
      const double err = std::fabs(double(a[i]) - b[i]);
      if (err > worst) worst = err, where = i;
    }
    if (name.find("k_proj.bias") != std::string::npos) {
      EXPECT_LT(largest, 1e-4) << name << " should stay near zero";
      continue;
    }
    EXPECT_LE(worst, param_tol * std::max(scale, 1e-30))
        << name << " element " << where << ": " << a[where] << " vs " << b[where];
  }
}

TEST(CudaProgram, GptTinyTrainsAsOnTheCpu) {
  WEFT_REQUIRE_GPUS(1);
  const Trained cpu = Train("gpt_tiny.weft", "cpu", "auto", 5);
  const Trained gpu = Train("gpt_tiny.weft", "cuda", "auto", 5);
  ASSERT_EQ(cpu.losses.size(), 5u);
  // Five AdamW steps in f32: summation orders differ (cuBLASLt, the
  // kernels' reductions), nothing else.
  ExpectClose(gpu, cpu, 1e-5, 2e-4);
  EXPECT_LT(gpu.losses.back(), gpu.losses.front()) << "training lowers the loss";
}

TEST(CudaProgram, FoldedEpiloguesTrainAsTheUnfoldedProgram) {
  WEFT_REQUIRE_GPUS(1);
  // gpt_tiny.weft has its bias, residual, GELU and GELU-gradient work folded
  // into the GEMMs (weft-fold-gemm-epilogue); gpt_tiny_cpu.weft is the same
  // model unfolded, run by the CPU backend. Both GPU paths of an epilogue,
  // in cuBLASLt and as a kernel after the GEMM, must train as it does.
  const Trained unfolded = Train("gpt_tiny_cpu.weft", "cpu", "auto", 5);
  const Trained in_cublaslt = Train("gpt_tiny.weft", "cuda", "auto", 5);
  setenv("WEFT_CUDA_EPILOGUES", "kernel", 1);
  const Trained as_kernels = Train("gpt_tiny.weft", "cuda", "auto", 5);
  unsetenv("WEFT_CUDA_EPILOGUES");
  ASSERT_EQ(unfolded.losses.size(), 5u);
  ExpectClose(in_cublaslt, unfolded, 1e-5, 2e-4);
  ExpectClose(as_kernels, unfolded, 1e-5, 2e-4);
}

TEST(CudaProgram, GraphReplayGivesTheEagerSteps) {
  WEFT_REQUIRE_GPUS(1);
  // Steps 2 onwards replay a CUDA graph; with graphs off every step is eager.
  const Trained graphs = Train("gpt_tiny.weft", "cuda", "auto", 4);
  setenv("WEFT_CUDA_GRAPHS", "0", 1);
  const Trained eager = Train("gpt_tiny.weft", "cuda", "auto", 4);
  unsetenv("WEFT_CUDA_GRAPHS");
  ExpectClose(graphs, eager, 0, 0);  // the same kernels in the same order: bit for bit
}

TEST(CudaProgram, DataAndTensorParallelOnVirtualDevicesMatchOneDevice) {
  WEFT_REQUIRE_GPUS(1);
  const Trained one = Train("gpt_tiny.weft", "cuda", "auto", 3);
  const Trained four = Train("gpt_tiny_dp2_tp2.weft", "cuda", "cuda-inprocess", 3);
  ExpectClose(four, one, 1e-5, 2e-4);
}

TEST(CudaProgram, PipelineOnVirtualDevicesMatchesOneDevice) {
  WEFT_REQUIRE_GPUS(1);
  const Trained one = Train("gpt_tiny.weft", "cuda", "auto", 3);
  const Trained two = Train("gpt_tiny_pp2.weft", "cuda", "cuda-inprocess", 3);
  ExpectClose(two, one, 1e-5, 2e-4);
}

TEST(CudaProgram, CpuArtifactIsRefusedWithTheFix) {
  WEFT_REQUIRE_GPUS(1);
  RuntimeOptions options;
  options.backend = "cuda";
  auto runtime = Runtime::Create(options);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  auto program = (*runtime)->Load(ArtifactPath("gpt_tiny_cpu.weft"));
  ASSERT_FALSE(program.ok());
  EXPECT_THAT(program.status().message(), ::testing::HasSubstr("weftc --target=cuda"));
}

TEST(CudaProgram, OutOfRangeTokenIsReportedWithItsLocation) {
  WEFT_REQUIRE_GPUS(1);
  RuntimeOptions options;
  options.backend = "cuda";
  auto runtime = Runtime::Create(options);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  auto program = (*runtime)->Load(ArtifactPath("gpt_tiny.weft"));
  ASSERT_TRUE(program.ok()) << program.status();
  ASSERT_TRUE((*program)->InitParameters(1).ok());
  std::map<std::string, Tensor> batch = Batch(**program, 3);
  for (auto &[name, t] : batch)
    if (t.dtype() == DType::kI32) t.data_as<int32_t>()[5] = 1 << 20;
  auto result = (*program)->Run(batch);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("out of range"));
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("gpt_tiny.mlir:"));
}

}  // namespace
}  // namespace weft

// The CUDA launchers of runtime/cuda/kernels.h on a GPU, against the CPU
// kernels of the same names on fresh random inputs; outputs are poisoned
// (NaN) first so an element no thread writes fails. The same kernel bodies
// are checked on the host, in more cases, by
// tests/runtime/CudaKernelEmulationTest.cc; this test adds what only a GPU
// shows: compilation for sm_90, launch shapes, device atomics and memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../runtime/RandomFloats.h"
#include "RequireGpu.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/optimizers.h"
#include "runtime/cpu/vocab_shard.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/kernels.h"
#include "runtime/executor/blocks.h"

namespace weft::cuda {
namespace {

using cpu::RandomFloats;

// A host vector's copy on the GPU, or (Poisoned) n elements of 0xFF bytes,
// NaN as floats. Movable, so it can live in a vector.
template <typename T>
class OnGpu {
 public:
  explicit OnGpu(const std::vector<T> &host) : OnGpu(host.size()) {
    if (n_) EXPECT_TRUE(WEFT_CUDA_STATUS(cudaMemcpy(p_, host.data(), Bytes(), cudaMemcpyHostToDevice)).ok());
  }
  static OnGpu Poisoned(size_t n) {
    OnGpu g(n);
    if (n) EXPECT_TRUE(WEFT_CUDA_STATUS(cudaMemset(g.p_, 0xFF, g.Bytes())).ok());
    return g;
  }
  OnGpu(OnGpu &&o) noexcept : n_(o.n_), p_(o.p_) { o.p_ = nullptr; }
  OnGpu(const OnGpu &) = delete;
  OnGpu &operator=(const OnGpu &) = delete;
  ~OnGpu() {
    if (p_) cudaFree(p_);
  }
  T *get() const { return p_; }
  std::vector<T> Host() const {
    std::vector<T> h(n_);
    EXPECT_TRUE(WEFT_CUDA_STATUS(cudaDeviceSynchronize()).ok());
    if (n_) EXPECT_TRUE(WEFT_CUDA_STATUS(cudaMemcpy(h.data(), p_, Bytes(), cudaMemcpyDeviceToHost)).ok());
    return h;
  }

 private:
  explicit OnGpu(size_t n) : n_(n) {
    if (n_) EXPECT_TRUE(WEFT_CUDA_STATUS(cudaMalloc(&p_, Bytes())).ok());
  }
  size_t Bytes() const { return n_ * sizeof(T); }
  size_t n_;
  T *p_ = nullptr;
};

void ExpectClose(const std::vector<float> &got, const std::vector<float> &want,
                 const std::string &what, double abs = 1e-6) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = std::isnan(want[i]) ? std::isnan(got[i])
                                        : std::abs(double(got[i]) - want[i]) <=
                                              std::max(abs, 1e-5 * std::abs(double(want[i])));
    if (!ok && ++bad <= 5) ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i];
  }
  EXPECT_EQ(bad, 0) << what;
}

double MaxAbs(const std::vector<float> &v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::abs(double(x)));
  return m;
}

std::vector<int64_t> RandomIds(int64_t n, int64_t bound, std::mt19937 &rng) {
  std::uniform_int_distribution<int64_t> dist(0, bound - 1);
  std::vector<int64_t> v(n);
  for (auto &x : v) x = dist(rng);
  return v;
}

std::vector<char> AsType(const std::vector<int64_t> &v, DType type) {
  std::vector<char> out(v.size() * DTypeSize(type));
  cpu::Cast(v.data(), DType::kI64, out.data(), type, v.size());
  return out;
}

TEST(CudaKernels, LayoutMatchesTheCpuKernels) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(1);
  // A transpose of [37, 300] floats, and the same as 2-byte and 3-byte elements.
  const int64_t r = 37, c = 300;
  for (size_t es : {2, 3, 4}) {
    std::vector<char> src(r * c * es), want(src.size(), 0);
    for (auto &b : src) b = static_cast<char>(rng());
    cpu::CopyStrided(src.data(), 0, {1, r}, want.data(), 0, {c, 1}, {c, r}, es);
    OnGpu<char> s(src), d = OnGpu<char>::Poisoned(src.size());
    ASSERT_TRUE(CopyStrided(s.get(), 0, {1, r}, d.get(), 0, {c, 1}, {c, r}, es, nullptr).ok());
    EXPECT_EQ(d.Host(), want) << "element size " << es;
  }
  // Every cast pair.
  std::vector<float> f = RandomFloats(1000, rng, 0.0f, 1000.0f);
  f[0] = std::numeric_limits<float>::quiet_NaN();
  f[1] = 70000.0f;
  const DType types[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64};
  for (DType from : types) {
    std::vector<char> src(f.size() * DTypeSize(from));
    cpu::Cast(f.data(), DType::kF32, src.data(), from, f.size());
    for (DType to : types) {
      std::vector<char> want(f.size() * DTypeSize(to));
      cpu::Cast(src.data(), from, want.data(), to, f.size());
      OnGpu<char> s(src), d = OnGpu<char>::Poisoned(want.size());
      ASSERT_TRUE(Cast(s.get(), from, d.get(), to, f.size(), nullptr).ok());
      EXPECT_EQ(d.Host(), want) << DTypeName(from) << " -> " << DTypeName(to);
    }
  }
  // Pack and unpack 5 rows of 3 slices of 12 bytes.
  std::vector<char> src(5 * 3 * 12), want(src.size());
  for (auto &b : src) b = static_cast<char>(rng());
  OnGpu<char> s(src), d = OnGpu<char>::Poisoned(src.size());
  weft::PackSlices(src.data(), want.data(), 5, 3, 12);
  ASSERT_TRUE(cuda::PackSlices(s.get(), d.get(), 5, 3, 12, nullptr).ok());
  EXPECT_EQ(d.Host(), want);
  weft::UnpackSlices(src.data(), want.data(), 5, 3, 12);
  ASSERT_TRUE(cuda::UnpackSlices(s.get(), d.get(), 5, 3, 12, nullptr).ok());
  EXPECT_EQ(d.Host(), want);
}

TEST(CudaKernels, ReduceMatchesTheCpuKernels) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(2);
  const std::vector<int64_t> shape = {6, 50, 33};
  const std::vector<float> x = RandomFloats(6 * 50 * 33, rng);
  std::vector<int32_t> xi(x.size());
  for (size_t i = 0; i < x.size(); ++i) xi[i] = static_cast<int32_t>(x[i] * 1000);
  OnGpu<float> dx(x);
  OnGpu<int32_t> dxi(xi);
  for (const std::vector<bool> &red : {std::vector<bool>{false, true, false}, {true, false, true}, {true, true, true}}) {
    int64_t out = 1;
    for (int i = 0; i < 3; ++i)
      if (!red[i]) out *= shape[i];
    for (int kind : {0, 1, 2}) {
      std::vector<float> want(out);
      cpu::Reduce(x.data(), want.data(), shape, red, static_cast<cpu::ReduceKind>(kind));
      auto y = OnGpu<float>::Poisoned(out);
      ASSERT_TRUE(Reduce(dx.get(), y.get(), shape, red, kind, nullptr).ok());
      ExpectClose(y.Host(), want, "reduce kind " + std::to_string(kind));
      std::vector<int32_t> wi(out);
      cpu::ReduceInt(xi.data(), wi.data(), DType::kI32, shape, red, static_cast<cpu::ReduceKind>(kind));
      auto yi = OnGpu<int32_t>::Poisoned(out);
      ASSERT_TRUE(ReduceInt(dxi.get(), yi.get(), DType::kI32, shape, red, kind, nullptr).ok());
      EXPECT_EQ(yi.Host(), wi) << "integer reduce kind " << kind;
    }
  }
}

TEST(CudaKernels, NormsMatchTheCpuKernels) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(3);
  const int64_t rows = 300, d = 768;
  const std::vector<float> x = RandomFloats(rows * d, rng, 0.5f, 2.0f), dy = RandomFloats(rows * d, rng),
                           gamma = RandomFloats(d, rng, 1.0f, 0.2f), beta = RandomFloats(d, rng);
  OnGpu<float> gx(x), gdy(dy), gg(gamma), gb(beta);
  std::vector<float> want(rows * d), wdx(rows * d), wdg(d), wdb(d);
  auto y = OnGpu<float>::Poisoned(rows * d), dx = OnGpu<float>::Poisoned(rows * d);
  auto dg = OnGpu<float>::Poisoned(d), db = OnGpu<float>::Poisoned(d);

  cpu::LayerNorm(x.data(), gamma.data(), beta.data(), want.data(), rows, d, 1e-5f);
  ASSERT_TRUE(LayerNorm(gx.get(), gg.get(), gb.get(), y.get(), rows, d, 1e-5f, nullptr).ok());
  ExpectClose(y.Host(), want, "layer norm");
  cpu::LayerNormGrad(x.data(), gamma.data(), dy.data(), wdx.data(), wdg.data(), wdb.data(), rows, d, 1e-5f);
  ASSERT_TRUE(LayerNormGrad(gx.get(), gg.get(), gdy.get(), dx.get(), dg.get(), db.get(), rows, d, 1e-5f, nullptr).ok());
  ExpectClose(dx.Host(), wdx, "layer norm dx");
  ExpectClose(dg.Host(), wdg, "layer norm dgamma");
  ExpectClose(db.Host(), wdb, "layer norm dbeta");

  cpu::RmsNorm(x.data(), gamma.data(), want.data(), rows, d, 1e-6f);
  ASSERT_TRUE(RmsNorm(gx.get(), gg.get(), y.get(), rows, d, 1e-6f, nullptr).ok());
  ExpectClose(y.Host(), want, "rms norm");
  cpu::RmsNormGrad(x.data(), gamma.data(), dy.data(), wdx.data(), wdg.data(), rows, d, 1e-6f);
  ASSERT_TRUE(RmsNormGrad(gx.get(), gg.get(), gdy.get(), dx.get(), dg.get(), rows, d, 1e-6f, nullptr).ok());
  ExpectClose(dx.Host(), wdx, "rms norm dx");
  ExpectClose(dg.Host(), wdg, "rms norm dgamma");

  // Softmax's gradient over the middle dim of [4, 300, 3].
  std::vector<float> sm(rows * 12);
  cpu::Softmax(x.data(), sm.data(), 4, rows, 3);
  OnGpu<float> gsm(sm);
  cpu::SoftmaxGrad(sm.data(), dy.data(), want.data(), 4, rows, 3);
  ASSERT_TRUE(SoftmaxGrad(gsm.get(), gdy.get(), dx.get(), 4, rows, 3, nullptr).ok());
  ExpectClose(std::vector<float>(dx.Host().begin(), dx.Host().begin() + rows * 12),
              std::vector<float>(want.begin(), want.begin() + rows * 12), "softmax grad");
}

TEST(CudaKernels, EmbeddingAndLossesMatchTheCpuKernels) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(4);
  for (DType type : {DType::kI32, DType::kI64}) {
    const int64_t vocab = 1000, d = 64, n = 513;
    std::vector<int64_t> idv = RandomIds(n, vocab, rng);
    idv[3] = idv[9] = 17;  // a repeated id
    const std::vector<char> ids = AsType(idv, type);
    const std::vector<float> table = RandomFloats(vocab * d, rng), dy = RandomFloats(n * d, rng);
    OnGpu<char> gids(ids);
    OnGpu<float> gt(table), gdy(dy);
    OnGpu<int32_t> error(std::vector<int32_t>{0});
    std::vector<float> want(n * d), wdt(vocab * d);
    auto out = OnGpu<float>::Poisoned(n * d), dt = OnGpu<float>::Poisoned(vocab * d);
    ASSERT_TRUE(cpu::Embedding(table.data(), vocab, d, ids.data(), type, n, want.data()).ok());
    ASSERT_TRUE(Embedding(gt.get(), vocab, d, gids.get(), type, n, out.get(), 0, 0, error.get(), nullptr).ok());
    ExpectClose(out.Host(), want, "embedding");
    ASSERT_TRUE(cpu::EmbeddingGrad(ids.data(), type, dy.data(), wdt.data(), vocab, d, n).ok());
    ASSERT_TRUE(EmbeddingGrad(gids.get(), type, gdy.get(), dt.get(), vocab, d, n, 0, 0, error.get(), nullptr).ok());
    ExpectClose(dt.Host(), wdt, "embedding grad");
    EXPECT_EQ(error.Host()[0], 0);

    // A bad id: flagged on the device with 1 + its position.
    idv[100] = vocab;
    idv[200] = -1;
    OnGpu<char> bad(AsType(idv, type));
    ASSERT_TRUE(Embedding(gt.get(), vocab, d, bad.get(), type, n, out.get(), 0, 0, error.get(), nullptr).ok());
    EXPECT_EQ(error.Host()[0], 101);
    EXPECT_EQ(out.Host()[100 * d], 0.0f);

    const int64_t rows = 64, classes = 50257;
    const std::vector<float> logits = RandomFloats(rows * classes, rng, 0.0f, 3.0f);
    const std::vector<char> labels = AsType(RandomIds(rows, classes, rng), type);
    OnGpu<float> gl(logits);
    OnGpu<char> glab(labels);
    OnGpu<int32_t> err(std::vector<int32_t>{0});
    float wloss;
    ASSERT_TRUE(cpu::CrossEntropy(logits.data(), labels.data(), type, rows, classes, &wloss).ok());
    auto loss = OnGpu<float>::Poisoned(1);
    ASSERT_TRUE(CrossEntropy(gl.get(), glab.get(), type, rows, classes, loss.get(), err.get(), nullptr).ok());
    ExpectClose(loss.Host(), {wloss}, "cross-entropy");
    const float dloss = 0.5f;
    OnGpu<float> gdloss(std::vector<float>{dloss});
    std::vector<float> wdl(rows * classes);
    auto dl = OnGpu<float>::Poisoned(rows * classes);
    ASSERT_TRUE(cpu::CrossEntropyGrad(logits.data(), labels.data(), type, &dloss, wdl.data(), rows, classes).ok());
    ASSERT_TRUE(CrossEntropyGrad(gl.get(), glab.get(), type, gdloss.get(), dl.get(), rows, classes, err.get(), nullptr).ok());
    ExpectClose(dl.Host(), wdl, "cross-entropy grad");

    // The vocabulary shard [1000, 1000 + 50257) of 150771 classes.
    const int64_t begin = 1000, total = 3 * classes;
    std::vector<float> max(rows);
    for (int64_t r = 0; r < rows; ++r)
      max[r] = *std::max_element(logits.begin() + r * classes, logits.begin() + (r + 1) * classes) + 0.5f;
    std::vector<int64_t> lv = RandomIds(rows, total, rng);
    lv[0] = begin + 5;
    const std::vector<char> shard_labels = AsType(lv, type);
    OnGpu<char> gsl(shard_labels);
    OnGpu<float> gmax(max);
    std::vector<float> wst(2 * rows);
    auto st = OnGpu<float>::Poisoned(2 * rows);
    ASSERT_TRUE(cpu::VocabShardStats(logits.data(), shard_labels.data(), type, max.data(), wst.data(), rows, classes, begin, total).ok());
    ASSERT_TRUE(VocabShardStats(gl.get(), gsl.get(), type, gmax.get(), st.get(), rows, classes, begin, total, err.get(), nullptr).ok());
    ExpectClose(st.Host(), wst, "vocab shard stats");
    const std::vector<float> dstats = RandomFloats(2 * rows, rng);
    OnGpu<float> gds(dstats);
    ASSERT_TRUE(cpu::VocabShardStatsGrad(logits.data(), shard_labels.data(), type, max.data(), dstats.data(), wdl.data(), rows, classes, begin, total).ok());
    ASSERT_TRUE(VocabShardStatsGrad(gl.get(), gsl.get(), type, gmax.get(), gds.get(), dl.get(), rows, classes, begin, total, err.get(), nullptr).ok());
    ExpectClose(dl.Host(), wdl, "vocab shard stats grad");
    EXPECT_EQ(err.Host()[0], 0);
  }
}

TEST(CudaKernels, AttentionMatchesTheCpuKernels) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(5);
  const int64_t b = 2, h = 3, sq = 65, sk = 65, dh = 32, dv = 32;
  for (bool causal : {false, true}) {
    const std::vector<float> q = RandomFloats(b * h * sq * dh, rng), k = RandomFloats(b * h * sk * dh, rng),
                             v = RandomFloats(b * h * sk * dv, rng), dout = RandomFloats(b * h * sq * dv, rng);
    OnGpu<float> gq(q), gk(k), gv(v), gdo(dout);
    std::vector<float> want(dout.size()), wdq(q.size()), wdk(k.size()), wdv(v.size());
    auto out = OnGpu<float>::Poisoned(dout.size()), dq = OnGpu<float>::Poisoned(q.size()),
         dk = OnGpu<float>::Poisoned(k.size()), dvv = OnGpu<float>::Poisoned(v.size());
    const float scale = 1.0f / std::sqrt(float(dh));
    cpu::Attention(q.data(), k.data(), v.data(), want.data(), b, h, sq, sk, dh, dv, causal, scale);
    ASSERT_TRUE(Attention(gq.get(), gk.get(), gv.get(), out.get(), b, h, sq, sk, dh, dv, causal, scale, nullptr).ok());
    ExpectClose(out.Host(), want, "attention");
    cpu::AttentionGrad(q.data(), k.data(), v.data(), dout.data(), wdq.data(), wdk.data(), wdv.data(), b, h, sq,
                       sk, dh, dv, causal, scale);
    ASSERT_TRUE(AttentionGrad(gq.get(), gk.get(), gv.get(), gdo.get(), dq.get(), dk.get(), dvv.get(), b, h, sq,
                              sk, dh, dv, causal, scale, nullptr).ok());
    // Cancelling sums: to 1e-5 of the tensor's scale (see the emulation test).
    ExpectClose(dq.Host(), wdq, "attention dq", std::max(1e-6, 1e-5 * MaxAbs(wdq)));
    ExpectClose(dk.Host(), wdk, "attention dk", std::max(1e-6, 1e-5 * MaxAbs(wdk)));
    ExpectClose(dvv.Host(), wdv, "attention dv", std::max(1e-6, 1e-5 * MaxAbs(wdv)));
  }
}

TEST(CudaKernels, OptimizersAndReduceBuffersMatchTheCpu) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(6);
  const int64_t n = 100003;
  const std::vector<float> p = RandomFloats(n, rng), g = RandomFloats(n, rng), m = RandomFloats(n, rng, 0, 0.1f);
  std::vector<float> v = RandomFloats(n, rng, 0, 0.1f);
  for (float &x : v) x *= x;
  const float step = 3.0f;
  OnGpu<float> gp(p), gg(g), gm(m), gv(v), gstep(std::vector<float>{step});
  std::vector<float> wp(n), wm(n), wv(n);
  auto np = OnGpu<float>::Poisoned(n), nm = OnGpu<float>::Poisoned(n), nv = OnGpu<float>::Poisoned(n);
  cpu::SgdUpdate(p.data(), g.data(), m.data(), step, wp.data(), wm.data(), n, 0.1f, 0.9f, 0.01f);
  ASSERT_TRUE(SgdUpdate(gp.get(), gg.get(), gm.get(), gstep.get(), np.get(), nm.get(), n, 0.1f, 0.9f, 0.01f, nullptr).ok());
  ExpectClose(np.Host(), wp, "sgd param");
  ExpectClose(nm.Host(), wm, "sgd buffer");
  cpu::AdamwUpdate(p.data(), g.data(), m.data(), v.data(), step, wp.data(), wm.data(), wv.data(), n, 1e-3f, 0.9f,
                   0.999f, 1e-8f, 0.1f);
  ASSERT_TRUE(AdamwUpdate(gp.get(), gg.get(), gm.get(), gv.get(), gstep.get(), np.get(), nm.get(), nv.get(), n,
                          1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, nullptr).ok());
  ExpectClose(np.Host(), wp, "adamw param");
  ExpectClose(nm.Host(), wm, "adamw m");
  ExpectClose(nv.Host(), wv, "adamw v");

  // Sum and max of 4 buffers, in buffer order: f32 adds in float.
  std::vector<OnGpu<float>> parts;
  std::vector<std::vector<float>> host;
  std::vector<const void *> ptrs;
  for (int r = 0; r < 4; ++r) {
    host.push_back(RandomFloats(n, rng));
    parts.emplace_back(host.back());
    ptrs.push_back(parts.back().get());
  }
  for (int kind : {0, 2}) {
    std::vector<float> want(n);
    for (int64_t i = 0; i < n; ++i) {
      float acc = host[0][i];
      for (int r = 1; r < 4; ++r) acc = kind == 0 ? acc + host[r][i] : std::max(acc, host[r][i]);
      want[i] = acc;
    }
    auto out = OnGpu<float>::Poisoned(n);
    ASSERT_TRUE(ReduceBuffers(ptrs.data(), 4, out.get(), n, DType::kF32, kind, nullptr).ok());
    EXPECT_EQ(out.Host(), want) << "kind " << kind;
  }
}

}  // namespace
}  // namespace weft::cuda

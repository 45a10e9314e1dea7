// The generated CUDA C of fused programs (compiler/target/cuda), run on the
// host: the source is compiled by the host C++ compiler through a small shim
// (CUDA's qualifiers as nothing, the launch as a loop over blocks and
// threads) and each kernel is compared with the CPU backend's interpreter
// (runtime/cpu/fused.cc) on random programs that use every elementwise op,
// broadcasts and transposed strides, and every element type. The same
// source runs on a GPU through NVRTC (tests/gpu); this test is what checks
// its indexing and arithmetic where there is no GPU.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compiler/target/cuda/FusedKernelSource.h"
#include "runtime/cpu/fused.h"
#include "runtime/cpu/kernels.h"

namespace weft {
namespace {

using cuda::FusedProgramSpec;

// CUDA's vocabulary for the host compiler. The launch of a grid of
// gridDim x blockDim threads is a loop that sets blockIdx and threadIdx.
constexpr const char *kShim = R"(
#include <cmath>
#include <cstring>
struct weft_dim3 { unsigned x = 0, y = 0, z = 0; };
static weft_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __restrict__ __restrict
static inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline void weft_launch(unsigned grid, unsigned block, void (*thread)(void *), void *args) {
  gridDim.x = grid; blockDim.x = block;
  for (unsigned b = 0; b < grid; ++b)
    for (unsigned t = 0; t < block; ++t) { blockIdx.x = b; threadIdx.x = t; thread(args); }
}
)";

// Unary ops read a, binary a and b, MaxGrad/MinGrad a, b and c.
int Arity(fb::EwOp op) {
  switch (op) {
    case fb::EwOp::Add: case fb::EwOp::Sub: case fb::EwOp::Mul: case fb::EwOp::Div:
    case fb::EwOp::Max: case fb::EwOp::Min: case fb::EwOp::Pow: case fb::EwOp::ReluGrad:
    case fb::EwOp::SiluGrad: case fb::EwOp::SigmoidGrad: case fb::EwOp::TanhGrad:
    case fb::EwOp::GeluGrad: case fb::EwOp::GeluTanhGrad:
      return 2;
    case fb::EwOp::MaxGrad: case fb::EwOp::MinGrad: return 3;
    default: return 1;
  }
}

struct Case {
  FusedProgramSpec spec;
  std::vector<std::vector<uint8_t>> operands;  // host bytes, typed by spec.operand_types
  int64_t n = 0;
};

int64_t Elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// A random program; `must_use` is an op every float program includes, so
// that the set of cases covers every op.
Case RandomCase(std::mt19937 &rng, bool integer, fb::EwOp must_use) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Case c;
  FusedProgramSpec &s = c.spec;
  s.integer = integer;
  const int rank = pick(1, 4);
  for (int d = 0; d < rank; ++d) s.shape.push_back(pick(1, 7));
  c.n = Elements(s.shape);
  std::vector<int64_t> contiguous(rank, 1);
  for (int d = rank - 1; d > 0; --d) contiguous[d - 1] = contiguous[d] * s.shape[d];
  const int operands = pick(1, 3);
  for (int k = 0; k < operands; ++k) {
    const DType t = integer ? (pick(0, 1) ? DType::kI32 : DType::kI64)
                            : std::vector<DType>{DType::kF32, DType::kF32, DType::kBF16,
                                                 DType::kF16, DType::kI32}[pick(0, 4)];
    s.operand_types.push_back(t);
    // Contiguous, broadcast along some dimensions, or the dimensions
    // permuted (a transposed view of a buffer of the same elements).
    std::vector<int64_t> strides = contiguous;
    const int kind = pick(0, 2);
    if (kind == 1) {
      std::vector<int64_t> kept = s.shape;
      for (int d = 0; d < rank; ++d)
        if (pick(0, 1)) kept[d] = 1;
      int64_t stride = 1;
      for (int d = rank - 1; d >= 0; --d) {
        strides[d] = kept[d] == 1 ? 0 : stride;
        stride *= kept[d];
      }
    } else if (kind == 2) {
      std::vector<int> order(rank);
      for (int d = 0; d < rank; ++d) order[d] = d;
      std::shuffle(order.begin(), order.end(), rng);
      int64_t stride = 1;
      for (int i = rank - 1; i >= 0; --i) {
        strides[order[i]] = stride;
        stride *= s.shape[order[i]];
      }
    }
    s.loads.push_back({static_cast<uint32_t>(k), strides});
    // Operand buffers hold every element a load can reach.
    std::vector<uint8_t> bytes(c.n * DTypeSize(t));
    for (int64_t i = 0; i < c.n; ++i) {
      const float f = std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng);
      const int64_t v = pick(-40, 40);
      uint8_t *p = bytes.data() + i * DTypeSize(t);
      switch (t) {
        case DType::kF32: std::memcpy(p, &f, 4); break;
        case DType::kBF16: { const uint16_t h = cpu::F32ToBf16(f); std::memcpy(p, &h, 2); break; }
        case DType::kF16: { const uint16_t h = cpu::F32ToF16(f); std::memcpy(p, &h, 2); break; }
        case DType::kI32: { const int32_t x = static_cast<int32_t>(v); std::memcpy(p, &x, 4); break; }
        case DType::kI64: std::memcpy(p, &v, 8); break;
      }
    }
    c.operands.push_back(std::move(bytes));
  }
  // A second load of operand 0 with broadcast strides exercises two loads
  // of one operand.
  if (pick(0, 1)) {
    std::vector<int64_t> strides = contiguous;
    strides[0] = 0;
    s.loads.push_back({0, strides});
  }
  const std::vector<fb::EwOp> float_ops = {
      fb::EwOp::Add, fb::EwOp::Sub, fb::EwOp::Mul, fb::EwOp::Div, fb::EwOp::Max, fb::EwOp::Min,
      fb::EwOp::Pow, fb::EwOp::Neg, fb::EwOp::Exp, fb::EwOp::Log, fb::EwOp::Sqrt, fb::EwOp::Rsqrt,
      fb::EwOp::Tanh, fb::EwOp::Sigmoid, fb::EwOp::Relu, fb::EwOp::Silu, fb::EwOp::Gelu,
      fb::EwOp::GeluTanh, fb::EwOp::ReluGrad, fb::EwOp::SiluGrad, fb::EwOp::SigmoidGrad,
      fb::EwOp::TanhGrad, fb::EwOp::GeluGrad, fb::EwOp::GeluTanhGrad, fb::EwOp::MaxGrad,
      fb::EwOp::MinGrad, fb::EwOp::Scale};
  const std::vector<fb::EwOp> int_ops = {fb::EwOp::Add, fb::EwOp::Sub, fb::EwOp::Mul,
                                         fb::EwOp::Div, fb::EwOp::Max, fb::EwOp::Min,
                                         fb::EwOp::Neg, fb::EwOp::Relu};
  const int steps = pick(1, integer ? 3 : 5);
  uint32_t regs = s.loads.size();
  for (int i = 0; i < steps; ++i) {
    const fb::EwOp op = (i == 0 && !integer) ? must_use
                        : integer ? int_ops[pick(0, int_ops.size() - 1)]
                                  : float_ops[pick(0, float_ops.size() - 1)];
    auto reg = [&] { return static_cast<uint32_t>(pick(0, regs - 1)); };
    const int arity = Arity(op);
    s.steps.push_back({op, reg(), arity > 1 ? reg() : 0, arity > 2 ? reg() : 0,
                       std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng)});
    ++regs;
  }
  const int outputs = pick(1, 2);
  for (int o = 0; o < outputs; ++o) {
    s.outputs.push_back(o == 0 ? regs - 1 : pick(0, regs - 1));
    s.result_types.push_back(integer ? (pick(0, 1) ? DType::kI32 : DType::kI64)
                                     : std::vector<DType>{DType::kF32, DType::kF32, DType::kBF16,
                                                          DType::kF16}[pick(0, 3)]);
  }
  return c;
}

// Element i of a result as a double, for the comparison.
double ValueAt(const std::vector<uint8_t> &bytes, DType t, int64_t i) {
  const uint8_t *p = bytes.data() + i * DTypeSize(t);
  uint16_t h;
  switch (t) {
    case DType::kF32: { float f; std::memcpy(&f, p, 4); return f; }
    case DType::kBF16: std::memcpy(&h, p, 2); return cpu::Bf16ToF32(h);
    case DType::kF16: std::memcpy(&h, p, 2); return cpu::F16ToF32(h);
    case DType::kI32: { int32_t x; std::memcpy(&x, p, 4); return x; }
    case DType::kI64: { int64_t x; std::memcpy(&x, p, 8); return static_cast<double>(x); }
  }
  return 0;
}

// Relative tolerance: 1e-5 in f32 (libm here, the CPU's polynomials
// there); one unit in the last place of a narrower type, since an f32
// result that differs in its last bit may round the other way.
double Tolerance(DType t) {
  switch (t) {
    case DType::kBF16: return 1.0 / 128;
    case DType::kF16: return 1.0 / 1024;
    default: return 1e-5;
  }
}

TEST(FusedKernelSourceTest, GeneratedKernelsMatchTheCpuInterpreter) {
  std::mt19937 rng(20261125);
  std::vector<Case> cases;
  const fb::EwOp all[] = {
      fb::EwOp::Add, fb::EwOp::Sub, fb::EwOp::Mul, fb::EwOp::Div, fb::EwOp::Max, fb::EwOp::Min,
      fb::EwOp::Pow, fb::EwOp::Neg, fb::EwOp::Exp, fb::EwOp::Log, fb::EwOp::Sqrt, fb::EwOp::Rsqrt,
      fb::EwOp::Tanh, fb::EwOp::Sigmoid, fb::EwOp::Relu, fb::EwOp::Silu, fb::EwOp::Gelu,
      fb::EwOp::GeluTanh, fb::EwOp::ReluGrad, fb::EwOp::SiluGrad, fb::EwOp::SigmoidGrad,
      fb::EwOp::TanhGrad, fb::EwOp::GeluGrad, fb::EwOp::GeluTanhGrad, fb::EwOp::MaxGrad,
      fb::EwOp::MinGrad, fb::EwOp::Scale};
  for (int round = 0; round < 3; ++round)
    for (fb::EwOp op : all) cases.push_back(RandomCase(rng, false, op));
  for (int i = 0; i < 20; ++i) cases.push_back(RandomCase(rng, true, fb::EwOp::Add));

  // One translation unit: the prelude, every kernel, and per kernel an entry
  // point that unpacks an argument array and launches it on 3 blocks of 4
  // threads (so the grid-stride loop is exercised, not just one thread).
  std::string source = std::string(kShim) + cuda::FusedKernelPrelude();
  std::vector<std::string> names;
  for (size_t k = 0; k < cases.size(); ++k) {
    const FusedProgramSpec &s = cases[k].spec;
    const std::string name = cuda::FusedKernelName(s);
    names.push_back(name);
    std::string kernel = cuda::FusedKernelSource(s);
    // Equal programs make equal kernels; define each once.
    if (source.find(" " + name + "(") != std::string::npos) continue;
    source += kernel;
    std::string call = name + "(";
    size_t a = 0;
    for (DType t : s.operand_types) absl::StrAppend(&call, "(const ", cuda::PointerType(t), " *)args[", a++, "], ");
    for (DType t : s.result_types) absl::StrAppend(&call, "(", cuda::PointerType(t), " *)args[", a++, "], ");
    absl::StrAppend(&call, "*(const long long *)args[", a, "])");
    absl::StrAppend(&source, "static void thread_", name, "(void *p) { void **args = (void **)p; ",
                    call, "; }\nextern \"C\" void run_", name,
                    "(void **args) { weft_launch(3, 4, thread_", name, ", args); }\n");
  }
  const std::string dir = ::testing::TempDir();
  const std::string cc = dir + "/weft_fused_host.cc", so = dir + "/weft_fused_host.so";
  std::ofstream(cc) << source;
  const std::string command =
      absl::StrCat(WEFT_HOST_CXX, " -std=c++17 -O1 -shared -fPIC -o ", so, " ", cc, " 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << "the host compiler refused the generated source: "
                                             << command;
  void *lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();

  std::vector<bool> seen(std::size(all), false);
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case &c = cases[k];
    const FusedProgramSpec &s = c.spec;
    SCOPED_TRACE(absl::StrCat("case ", k, ": ", cuda::FusedKernelSource(s)));
    auto run = reinterpret_cast<void (*)(void **)>(dlsym(lib, ("run_" + names[k]).c_str()));
    ASSERT_NE(run, nullptr);
    std::vector<std::vector<uint8_t>> gpu(s.result_types.size()), cpu(s.result_types.size());
    std::vector<void *> args;
    for (const auto &o : c.operands) args.push_back(const_cast<uint8_t *>(o.data()));
    for (size_t o = 0; o < s.result_types.size(); ++o) {
      gpu[o].assign(c.n * DTypeSize(s.result_types[o]), 0xAB);
      cpu[o].assign(c.n * DTypeSize(s.result_types[o]), 0xCD);
      args.push_back(gpu[o].data());
    }
    long long n = c.n;
    args.push_back(&n);
    run(args.data());

    cpu::FusedKernel ref;
    ref.shape = s.shape;
    ref.integer = s.integer;
    for (const auto &l : s.loads) ref.loads.push_back({l.operand, l.strides});
    for (const auto &st : s.steps)
      ref.steps.push_back({static_cast<cpu::EwOp>(st.op), st.a, st.b, st.c, st.imm});
    ref.outputs = s.outputs;
    std::vector<const void *> ops;
    for (const auto &o : c.operands) ops.push_back(o.data());
    std::vector<void *> outs;
    for (auto &o : cpu) outs.push_back(o.data());
    cpu::RunFused(ref, ops, s.operand_types, outs, s.result_types);

    for (size_t o = 0; o < s.result_types.size(); ++o)
      for (int64_t i = 0; i < c.n; ++i) {
        const double want = ValueAt(cpu[o], s.result_types[o], i);
        const double got = ValueAt(gpu[o], s.result_types[o], i);
        if (std::isnan(want) && std::isnan(got)) continue;
        if (std::isinf(want) || std::isinf(got)) {
          ASSERT_EQ(want, got) << "result " << o << " element " << i;
          continue;
        }
        ASSERT_LE(std::fabs(got - want), Tolerance(s.result_types[o]) * std::fabs(want) + 1e-6)
            << "result " << o << " element " << i << ": kernel " << got << ", CPU " << want;
      }
    for (const auto &st : s.steps)
      for (size_t a = 0; a < std::size(all); ++a) seen[a] = seen[a] || (all[a] == st.op);
  }
  for (size_t a = 0; a < std::size(all); ++a)
    EXPECT_TRUE(seen[a]) << "op " << static_cast<int>(all[a]) << " never ran";
  dlclose(lib);
}

TEST(FusedKernelSourceTest, EqualProgramsShareAName) {
  FusedProgramSpec a;
  a.shape = {4, 8};
  a.loads = {{0, {8, 1}}, {1, {0, 1}}};
  a.steps = {{fb::EwOp::Add, 0, 1, 0, 0.0f}};
  a.outputs = {2};
  a.operand_types = {DType::kF32, DType::kF32};
  a.result_types = {DType::kF32};
  FusedProgramSpec b = a;
  EXPECT_EQ(cuda::FusedKernelName(a), cuda::FusedKernelName(b));
  b.loads[1].strides = {1, 0};  // another broadcast: another kernel
  EXPECT_NE(cuda::FusedKernelName(a), cuda::FusedKernelName(b));
  b = a;
  b.result_types = {DType::kBF16};
  EXPECT_NE(cuda::FusedKernelName(a), cuda::FusedKernelName(b));
}

}  // namespace
}  // namespace weft

#include "compiler/target/cuda/FusedKernelSource.h"

#include <cstdio>

namespace weft::cuda {

const char *PointerType(DType t) {
  switch (t) {
    case DType::kF32: return "float";
    case DType::kBF16:
    case DType::kF16: return "unsigned short";
    case DType::kI32: return "int";
    case DType::kI64: return "long long";
  }
  return "float";
}

namespace {

// Exact float text: the shortest form that reads back to the same float.
std::string FloatLiteral(float f) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(f));
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s.insert(s.size() - 1, ".0");
  if (s == "inff") return "__int_as_float(0x7f800000)";
  if (s == "-inff") return "__int_as_float(0xff800000)";
  if (f != f) return "__int_as_float(0x7fc00000)";  // NaN
  return s;
}

// Element `index` of operand `k` as the program's register type.
std::string LoadExpr(const FusedProgramSpec &spec, uint32_t k, const std::string &index) {
  const std::string x = "p" + std::to_string(k) + "[" + index + "]";
  const DType t = spec.operand_types[k];
  if (spec.integer) return "(long long)" + x;
  switch (t) {
    case DType::kF32: return x;
    case DType::kBF16: return "weft_bf16_to_f32(" + x + ")";
    case DType::kF16: return "weft_f16_to_f32(" + x + ")";
    case DType::kI32:
    case DType::kI64: return "(float)" + x;
  }
  return x;
}

std::string StoreExpr(DType t, const std::string &v) {
  switch (t) {
    case DType::kF32: return "(float)" + v;
    case DType::kBF16: return "weft_f32_to_bf16((float)" + v + ")";
    case DType::kF16: return "weft_f32_to_f16((float)" + v + ")";
    case DType::kI32: return "(int)" + v;
    case DType::kI64: return "(long long)" + v;
  }
  return v;
}

// One step's right-hand side: the CPU interpreter's formula for the op
// (runtime/cpu/fused.cc), with libm's functions where it has its fast
// approximations (within a few ulp of them).
std::string FloatStep(const FusedProgramSpec::Step &s) {
  const std::string a = "r" + std::to_string(s.a), b = "r" + std::to_string(s.b),
                    c = "r" + std::to_string(s.c);
  switch (s.op) {
    case fb::EwOp::Add: return a + " + " + b;
    case fb::EwOp::Sub: return a + " - " + b;
    case fb::EwOp::Mul: return a + " * " + b;
    case fb::EwOp::Div: return a + " / " + b;
    case fb::EwOp::Max: return "(" + a + " < " + b + ") ? " + b + " : " + a;  // std::max
    case fb::EwOp::Min: return "(" + b + " < " + a + ") ? " + b + " : " + a;  // std::min
    case fb::EwOp::Pow: return "powf(" + a + ", " + b + ")";
    case fb::EwOp::Neg: return "-" + a;
    case fb::EwOp::Exp: return "expf(" + a + ")";
    case fb::EwOp::Log: return "logf(" + a + ")";
    case fb::EwOp::Sqrt: return "sqrtf(" + a + ")";
    case fb::EwOp::Rsqrt: return "1.0f / sqrtf(" + a + ")";
    case fb::EwOp::Tanh: return "tanhf(" + a + ")";
    case fb::EwOp::Sigmoid: return "1.0f / (1.0f + expf(-" + a + "))";
    case fb::EwOp::Relu: return "(" + a + " < 0.0f) ? 0.0f : " + a;
    case fb::EwOp::Silu: return a + " / (1.0f + expf(-" + a + "))";
    case fb::EwOp::Gelu: return "weft_gelu(" + a + ")";
    case fb::EwOp::GeluTanh: return "weft_gelu_tanh(" + a + ")";
    case fb::EwOp::ReluGrad: return a + " > 0.0f ? " + b + " : 0.0f";
    case fb::EwOp::SiluGrad: return "weft_silu_grad(" + a + ", " + b + ")";
    case fb::EwOp::SigmoidGrad: return b + " * " + a + " * (1.0f - " + a + ")";
    case fb::EwOp::TanhGrad: return b + " * (1.0f - " + a + " * " + a + ")";
    case fb::EwOp::GeluGrad: return "weft_gelu_grad(" + a + ", " + b + ")";
    case fb::EwOp::GeluTanhGrad: return "weft_gelu_tanh_grad(" + a + ", " + b + ")";
    case fb::EwOp::MaxGrad: return a + " >= " + b + " ? " + c + " : 0.0f";
    case fb::EwOp::MinGrad: return a + " <= " + b + " ? " + c + " : 0.0f";
    case fb::EwOp::Scale: return a + " * " + FloatLiteral(s.imm);
  }
  return "0.0f";
}

// Integer programs: the ops the IR allows on integers; division by zero
// gives 0, as on the CPU.
std::string IntegerStep(const FusedProgramSpec::Step &s) {
  const std::string a = "r" + std::to_string(s.a), b = "r" + std::to_string(s.b);
  switch (s.op) {
    case fb::EwOp::Add: return a + " + " + b;
    case fb::EwOp::Sub: return a + " - " + b;
    case fb::EwOp::Mul: return a + " * " + b;
    case fb::EwOp::Div: return b + " == 0 ? 0LL : " + a + " / " + b;
    case fb::EwOp::Max: return "(" + a + " < " + b + ") ? " + b + " : " + a;
    case fb::EwOp::Min: return "(" + b + " < " + a + ") ? " + b + " : " + a;
    case fb::EwOp::Neg: return "-" + a;
    case fb::EwOp::Relu: return "(" + a + " < 0LL) ? 0LL : " + a;
    default: return "0LL";
  }
}

// The body with "@NAME@" for the kernel's name.
std::string Body(const FusedProgramSpec &spec) {
  const size_t rank = spec.shape.size();
  std::vector<int64_t> contiguous(rank, 1);
  for (size_t d = rank; d-- > 1;) contiguous[d - 1] = contiguous[d] * spec.shape[d];
  bool need_index = false;
  for (const auto &l : spec.loads) need_index |= l.strides != contiguous;

  std::string s = "extern \"C\" __global__ void __launch_bounds__(256) @NAME@(";
  // No __restrict__: an in-place update (a parameter's new value written
  // over it) makes a result alias an operand.
  for (size_t k = 0; k < spec.operand_types.size(); ++k)
    s += "const " + std::string(PointerType(spec.operand_types[k])) + " *p" + std::to_string(k) +
         ", ";
  for (size_t k = 0; k < spec.result_types.size(); ++k)
    s += std::string(PointerType(spec.result_types[k])) + " *y" + std::to_string(k) + ", ";
  s += "long long n) {\n";
  s += "  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
       "       i += (long long)gridDim.x * blockDim.x) {\n";
  if (need_index) {
    // The element's multi-index, innermost dimension first.
    s += "    long long rest = i;\n";
    for (size_t d = rank; d-- > 0;) {
      const std::string dim = std::to_string(spec.shape[d]);
      if (d == 0) {
        s += "    const long long i0 = rest;\n";
      } else {
        s += "    const long long i" + std::to_string(d) + " = rest % " + dim + "; rest /= " + dim +
             ";\n";
      }
    }
  }
  const char *reg_type = spec.integer ? "long long" : "float";
  uint32_t reg = 0;
  for (const auto &l : spec.loads) {
    std::string index;
    if (l.strides == contiguous) {
      index = "i";
    } else {
      for (size_t d = 0; d < rank; ++d) {
        if (l.strides[d] == 0) continue;
        if (!index.empty()) index += " + ";
        index += "i" + std::to_string(d) +
                 (l.strides[d] == 1 ? "" : " * " + std::to_string(l.strides[d]) + "LL");
      }
      if (index.empty()) index = "0";
    }
    s += "    const " + std::string(reg_type) + " r" + std::to_string(reg++) + " = " +
         LoadExpr(spec, l.operand, index) + ";\n";
  }
  for (const auto &st : spec.steps)
    s += "    const " + std::string(reg_type) + " r" + std::to_string(reg++) + " = " +
         (spec.integer ? IntegerStep(st) : FloatStep(st)) + ";\n";
  for (size_t o = 0; o < spec.outputs.size(); ++o)
    s += "    y" + std::to_string(o) + "[i] = " +
         StoreExpr(spec.result_types[o], "r" + std::to_string(spec.outputs[o])) + ";\n";
  s += "  }\n}\n";
  return s;
}

uint64_t Fnv1a(const std::string &s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::string FusedKernelPrelude() {
  // The conversions are the CPU backend's (runtime/cpu/kernels.cc), bit for
  // bit, so that a bf16/f16 tensor holds the same bits after either backend.
  return R"(// Generated by weftc (compiler/target/cuda/FusedKernelSource.cpp).
__device__ __forceinline__ float weft_bf16_to_f32(unsigned short x) {
  return __uint_as_float((unsigned int)x << 16);
}
__device__ __forceinline__ unsigned short weft_f32_to_bf16(float x) {
  const unsigned int u = __float_as_uint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
  return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float weft_f16_to_f32(unsigned short x) {
  const unsigned int sign = (unsigned int)(x & 0x8000u) << 16;
  const unsigned int e = (x >> 10) & 0x1fu, mant = x & 0x3ffu;
  if (e == 0) {
    const float v = (float)mant * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (e == 31) return __uint_as_float(sign | 0x7f800000u | (mant << 13));
  return __uint_as_float(sign | ((e + 112u) << 23) | (mant << 13));
}
__device__ __forceinline__ unsigned short weft_f32_to_f16(float x) {
  const unsigned int u = __float_as_uint(x);
  const unsigned short sign = (unsigned short)((u >> 16) & 0x8000u);
  const unsigned int a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (unsigned short)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);
  if (a >= 0x38800000u) {
    const unsigned int r = a - (112u << 23) + 0xfffu + ((a >> 13) & 1u);
    return (unsigned short)(sign | (r >> 13));
  }
  const int e = (int)(a >> 23);
  const int shift = 126 - e;
  if (e == 0 || shift > 24) return sign;
  const unsigned int m = (a & 0x7fffffu) | 0x800000u;
  unsigned int r = m >> shift;
  const unsigned int rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1u))) ++r;
  return (unsigned short)(sign | r);
}
__device__ __forceinline__ float weft_gelu(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
__device__ __forceinline__ float weft_gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float weft_silu_grad(float x, float dy) {
  const float s = 1.0f / (1.0f + expf(-x));
  return dy * s * (1.0f + x * (1.0f - s));
}
__device__ __forceinline__ float weft_gelu_grad(float x, float dy) {
  const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  const float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
  return dy * (cdf + x * pdf);
}
__device__ __forceinline__ float weft_gelu_tanh_grad(float x, float dy) {
  const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  const float t = tanhf(u);
  const float du = 0.79788456080286536f * (1.0f + 0.134145f * x * x);
  return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
}
)";
}

std::string FusedKernelName(const FusedProgramSpec &spec) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(Fnv1a(Body(spec))));
  return std::string("weft_fused_") + hex;
}

std::string FusedKernelSource(const FusedProgramSpec &spec) {
  std::string body = Body(spec);
  const std::string name = FusedKernelName(spec);
  body.replace(body.find("@NAME@"), 6, name);
  return body;
}

}  // namespace weft::cuda

#include "runtime/executor/init.h"

#include <cmath>

#include "runtime/cpu/kernels.h"

namespace weft {
namespace {

// SplitMix64: a good 64-bit mixer; (key + i) through it is a counter-based
// generator.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t Key(uint64_t seed, const std::string &name) {
  uint64_t h = Mix(seed);
  for (unsigned char c : name) h = Mix(h ^ c);
  return h;
}

// A uniform double in (0, 1), never 0 so that log() is safe.
double Uniform01(uint64_t key, uint64_t i) {
  return (static_cast<double>(Mix(key + i) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

float Draw(InitDist dist, float a, float b, uint64_t key, int64_t i) {
  switch (dist) {
    case InitDist::kZeros: return 0.0f;
    case InitDist::kOnes: return 1.0f;
    case InitDist::kUniform: return static_cast<float>(a + (b - a) * Uniform01(key, 2 * i));
    case InitDist::kNormal: {
      // Box-Muller on the element's own two draws.
      double u1 = Uniform01(key, 2 * i), u2 = Uniform01(key, 2 * i + 1);
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      return static_cast<float>(a + b * z);
    }
  }
  return 0.0f;
}

}  // namespace

void FillRandom(Tensor &t, InitDist dist, float a, float b, uint64_t seed,
                const std::string &name) {
  uint64_t key = Key(seed, name);
  int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    float v = Draw(dist, a, b, key, i);
    switch (t.dtype()) {
      case DType::kF32: t.data_as<float>()[i] = v; break;
      case DType::kBF16: t.data_as<uint16_t>()[i] = cpu::F32ToBf16(v); break;
      case DType::kF16: t.data_as<uint16_t>()[i] = cpu::F32ToF16(v); break;
      default: break;
    }
  }
}

void FillRandomSlice(Tensor &t, InitDist dist, float a, float b, uint64_t seed,
                     const std::string &name, const std::vector<int64_t> &global_shape, int dim,
                     int part, int parts) {
  uint64_t key = Key(seed, name);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= global_shape[d];
  for (size_t d = dim + 1; d < global_shape.size(); ++d) inner *= global_shape[d];
  const int64_t whole = global_shape[dim], local = whole / parts;
  int64_t i = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < local; ++j)
      for (int64_t k = 0; k < inner; ++k, ++i) {
        const int64_t g = (o * whole + part * local + j) * inner + k;
        const float v = Draw(dist, a, b, key, g);
        switch (t.dtype()) {
          case DType::kF32: t.data_as<float>()[i] = v; break;
          case DType::kBF16: t.data_as<uint16_t>()[i] = cpu::F32ToBf16(v); break;
          case DType::kF16: t.data_as<uint16_t>()[i] = cpu::F32ToF16(v); break;
          default: break;
        }
      }
}

void FillRandomInts(Tensor &t, int64_t bound, uint64_t seed, const std::string &name) {
  uint64_t key = Key(seed, name);
  int64_t n = t.num_elements();
  uint64_t range = bound > 0 ? static_cast<uint64_t>(bound) : 2;
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = static_cast<int64_t>(Mix(key + i) % range);
    if (t.dtype() == DType::kI32) t.data_as<int32_t>()[i] = static_cast<int32_t>(v);
    else t.data_as<int64_t>()[i] = v;
  }
}

}  // namespace weft

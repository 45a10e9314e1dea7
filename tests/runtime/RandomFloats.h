// Normal random floats for the kernel tests' inputs.
#ifndef WEFT_TESTS_RUNTIME_RANDOMFLOATS_H
#define WEFT_TESTS_RUNTIME_RANDOMFLOATS_H

#include <cstdint>
#include <random>
#include <vector>

namespace weft::cpu {

inline std::vector<float> RandomFloats(int64_t n, std::mt19937 &rng, float mean = 0,
                                       float stddev = 1) {
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(n);
  for (float &x : v) x = dist(rng);
  return v;
}

}  // namespace weft::cpu

#endif

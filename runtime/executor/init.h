// Parameter initialisation and synthetic data from a seed. Counter-based:
// element i of a tensor is a pure function of (seed, tensor name, i), so a
// shard of a tensor can draw its own elements without the others, and the
// numbers never depend on the mesh or on the order of draws.
#ifndef WEFT_RUNTIME_EXECUTOR_INIT_H
#define WEFT_RUNTIME_EXECUTOR_INIT_H

#include <cstdint>
#include <string>

#include "weft/tensor.h"

namespace weft {

enum class InitDist { kZeros, kOnes, kNormal, kUniform };

/// Fills `t` (f32, bf16 or f16) from the distribution: normal(a = mean, b = std)
/// or uniform(a = low, b = high).
void FillRandom(Tensor &t, InitDist dist, float a, float b, uint64_t seed,
                const std::string &name);

/// Fills `t`, the slice `part` of `parts` along `dim` of a tensor of
/// `global_shape`, with exactly the values FillRandom gives that tensor
/// there: a tensor-parallel shard draws its own elements only.
void FillRandomSlice(Tensor &t, InitDist dist, float a, float b, uint64_t seed,
                     const std::string &name, const std::vector<int64_t> &global_shape, int dim,
                     int part, int parts);

/// Fills an integer tensor uniformly from [0, bound).
void FillRandomInts(Tensor &t, int64_t bound, uint64_t seed, const std::string &name);

}  // namespace weft

#endif

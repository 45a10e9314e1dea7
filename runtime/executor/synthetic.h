// Synthetic training data that a model can learn, from a seed and a step
// number only (so a resumed run sees the same batches as an uninterrupted
// one):
//  - language models (two integer inputs of one shape [B, S] indexing the
//    same vocabulary: tokens and labels): each row walks a fixed cycle of
//    distinct tokens from a random start, and the labels are the next
//    tokens, so the next token is a function of the current one;
//  - classifiers (a float input [B, F] and integer labels [B] with C
//    classes): labels are argmax(x W) for a fixed random teacher W;
//  - anything else: normal floats and uniform integers in range.
#ifndef WEFT_RUNTIME_EXECUTOR_SYNTHETIC_H
#define WEFT_RUNTIME_EXECUTOR_SYNTHETIC_H

#include <map>
#include <string>

#include "weft/runtime.h"

namespace weft {

std::map<std::string, Tensor> SyntheticBatch(const std::vector<TensorInfo> &inputs, uint64_t seed,
                                             int64_t step);

/// What the synthetic source makes for these inputs: "lm", "teacher" or "random".
std::string SyntheticKind(const std::vector<TensorInfo> &inputs);

}  // namespace weft

#endif

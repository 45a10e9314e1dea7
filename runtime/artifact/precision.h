// weftc --precision: the names the artifact records (Artifact.precision) and
// the one line that weftc --stats/--explain and weft-dump print for each, so
// that the three say the same thing. Shared by compiler and runtime; no
// dependencies.
#ifndef WEFT_RUNTIME_ARTIFACT_PRECISION_H
#define WEFT_RUNTIME_ARTIFACT_PRECISION_H

#include <string_view>

namespace weft::artifact {

inline constexpr std::string_view kPrecisionF32 = "f32";
// Autocast: Matmul, Attention and AttentionGrad read their float inputs
// rounded to bf16; everything else, and all stored tensors, stay f32.
inline constexpr std::string_view kPrecisionBf16 = "bf16";

inline bool IsPrecision(std::string_view p) { return p == kPrecisionF32 || p == kPrecisionBf16; }

/// "precision: ..." without the label; an empty name (older artifacts) is f32.
inline std::string_view PrecisionSummary(std::string_view p) {
  return p == kPrecisionBf16 ? "bf16 matmul inputs, f32 accumulation and master weights"
                             : "f32";
}

}  // namespace weft::artifact

#endif

// Readable names of the artifact's enums for dumps, profiles and reports:
// the schema's own names (flatc's EnumName*) in snake_case, so that the
// list lives in artifact.fbs alone ("AttentionGrad" -> "attention_grad").
#ifndef WEFT_RUNTIME_ARTIFACT_NAMES_H
#define WEFT_RUNTIME_ARTIFACT_NAMES_H

#include <cctype>
#include <string>

#include "runtime/artifact/artifact_generated.h"

namespace weft::artifact {

inline std::string SnakeCase(const char *camel) {
  std::string out;
  for (const char *c = camel; c && *c; ++c) {
    if (std::isupper(static_cast<unsigned char>(*c)) && !out.empty()) out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  }
  return out.empty() ? "?" : out;
}

inline std::string OpcodeName(fb::Opcode op) { return SnakeCase(fb::EnumNameOpcode(op)); }
inline std::string EwOpName(fb::EwOp op) { return SnakeCase(fb::EnumNameEwOp(op)); }
inline std::string StorageName(fb::Storage s) { return SnakeCase(fb::EnumNameStorage(s)); }
inline std::string DistName(fb::Dist d) { return SnakeCase(fb::EnumNameDist(d)); }

}  // namespace weft::artifact

#endif

// Memory the runtime hands out uninitialised (fresh tensors, the activation
// arena) is filled with 0xFF bytes when WEFT_POISON_MEMORY=1: NaN in every
// float format and -1 in the integer ones. A result read before anything
// wrote it then shows up as NaN instead of as plausible leftovers; the test
// suite runs with it on. Off by default: it costs a pass over the memory.
#pragma once

#include <cstdlib>
#include <cstring>

namespace weft {

inline bool PoisonMemory() {
  static const bool on = [] {
    const char *v = std::getenv("WEFT_POISON_MEMORY");
    return v != nullptr && std::strcmp(v, "0") != 0 && *v != '\0';
  }();
  return on;
}

inline void PoisonIfAsked(void *p, size_t bytes) {
  if (PoisonMemory()) std::memset(p, 0xFF, bytes);
}

}  // namespace weft

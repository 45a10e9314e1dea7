// Re-laying the blocks of a collective along a tensor dimension. The
// communicator moves contiguous slices; a slice along dimension k of a
// row-major tensor is, seen as [outer, rest] (outer = the dimensions before
// k), the same column range of every row. These convert between that view
// and `parts` contiguous slices, each [outer, rest / parts].
#ifndef WEFT_RUNTIME_EXECUTOR_BLOCKS_H
#define WEFT_RUNTIME_EXECUTOR_BLOCKS_H

#include <cstdint>
#include <cstring>

namespace weft {

/// dst slice p = columns [p * width, (p + 1) * width) of every row of src
/// [outer, parts * width]; width is in bytes.
inline void PackSlices(const void *src, void *dst, int64_t outer, int64_t parts, int64_t width) {
  const char *s = static_cast<const char *>(src);
  char *d = static_cast<char *>(dst);
  for (int64_t p = 0; p < parts; ++p)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(d + (p * outer + o) * width, s + (o * parts + p) * width, width);
}

/// The inverse: slice p of src lands in columns [p * width, (p + 1) * width)
/// of every row of dst [outer, parts * width].
inline void UnpackSlices(const void *src, void *dst, int64_t outer, int64_t parts, int64_t width) {
  const char *s = static_cast<const char *>(src);
  char *d = static_cast<char *>(dst);
  for (int64_t p = 0; p < parts; ++p)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(d + (o * parts + p) * width, s + (p * outer + o) * width, width);
}

}  // namespace weft

#endif

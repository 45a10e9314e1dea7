// The artifact file: a fixed header, then the FlatBuffer of artifact.fbs.
//   bytes  0..7   magic "WEFTART\0"
//   bytes  8..11  format version (little-endian u32)
//   bytes 12..15  zero
//   bytes 16..23  payload size in bytes (u64)
//   bytes 24..31  FNV-1a 64 checksum of the payload (u64)
//   bytes 32..    payload
// Shared by the compiler's writer and the runtime's reader; no dependencies.
#ifndef WEFT_RUNTIME_ARTIFACT_FORMAT_H
#define WEFT_RUNTIME_ARTIFACT_FORMAT_H

#include <cstdint>
#include <cstring>
#include <string>

namespace weft::artifact {

inline constexpr char kMagic[8] = {'W', 'E', 'F', 'T', 'A', 'R', 'T', '\0'};
inline constexpr uint32_t kFormatVersion = 5;  // 2: collectives name their mesh axis; 3: vocabulary shards; 4: grouped (per-gate) parameter splits; 5: pipelines (Send/Recv, absent parameters, the schedule)
// RankProgram.params / states: this rank does not hold the tensor.
inline constexpr uint32_t kAbsent = 0xFFFFFFFFu;
inline constexpr size_t kHeaderSize = 32;

inline uint64_t Fnv1a64(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/// The header for a payload; the file is this followed by the payload.
inline std::string MakeHeader(const uint8_t *payload, size_t size) {
  std::string h(kHeaderSize, '\0');
  std::memcpy(&h[0], kMagic, 8);
  uint32_t version = kFormatVersion;
  uint64_t size64 = size, sum = Fnv1a64(payload, size);
  std::memcpy(&h[8], &version, 4);
  std::memcpy(&h[16], &size64, 8);
  std::memcpy(&h[24], &sum, 8);
  return h;
}

}  // namespace weft::artifact

#endif

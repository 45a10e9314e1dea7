// The safetensors format (https://github.com/huggingface/safetensors): an
// 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the bytes. Weights and checkpoints.
#ifndef WEFT_RUNTIME_IO_SAFETENSORS_H
#define WEFT_RUNTIME_IO_SAFETENSORS_H

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/tensor.h"

namespace weft::io {

struct Safetensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry
};

/// Errors name the file and what is wrong (bad header, a range outside the
/// file, an unsupported dtype such as F64).
absl::StatusOr<Safetensors> ReadSafetensors(const std::string &path);

/// Writes to `path`.tmp, then renames, so a crash never leaves half a file.
absl::Status WriteSafetensors(const std::string &path, const Safetensors &file);

}  // namespace weft::io

#endif

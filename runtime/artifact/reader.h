// Loads and verifies a compiled artifact. Nothing in it is trusted: the
// header, the checksum, the FlatBuffers structure, and then every index,
// offset and size the executor will use are checked here, so a truncated,
// corrupted or mismatched file is an error, never a crash.
#ifndef WEFT_RUNTIME_ARTIFACT_READER_H
#define WEFT_RUNTIME_ARTIFACT_READER_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact_generated.h"

namespace weft::artifact {

/// A verified artifact: the bytes and the root table that points into them.
struct Artifact {
  std::string bytes;
  const fb::Artifact *root = nullptr;
  std::string name;  // the file it came from, for messages
};

absl::StatusOr<std::shared_ptr<const Artifact>> ReadArtifactFile(const std::string &path);
/// `bytes` is the whole file; `name` is used in messages.
absl::StatusOr<std::shared_ptr<const Artifact>> ParseArtifact(std::string bytes,
                                                              const std::string &name);

}  // namespace weft::artifact

#endif

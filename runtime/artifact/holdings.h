// What each rank of an artifact holds: its piece of every parameter and
// optimizer state tensor (a tp slice, a flat dp slice of that under ZeRO-1,
// or nothing on a pipeline stage that does not use it). Shared by the
// executor, which allocates them, and weft-dump, which reports them.
#ifndef WEFT_RUNTIME_ARTIFACT_HOLDINGS_H
#define WEFT_RUNTIME_ARTIFACT_HOLDINGS_H

#include <cstdint>
#include <vector>

#include "runtime/artifact/artifact_generated.h"

namespace weft::artifact {

/// Ranks along the named mesh axis ("pp", "dp", "tp"); 1 when the mesh lacks it.
int64_t AxisSize(const fb::Artifact &a, const char *name);
/// The rank's coordinate along the named axis (0 when the mesh lacks it).
int AxisCoord(const fb::Artifact &a, int rank, const char *name);
/// Whether rank `rank` holds parameter (or, `is_state`, optimizer state) i.
bool Holds(const fb::Artifact &a, int rank, size_t i, bool is_state);
/// The shape of the piece a holder keeps.
std::vector<int64_t> LocalShape(const fb::Artifact &a, const fb::ParamSpec &spec, bool is_state);
/// Bytes of the parameters (or states) rank `rank` holds.
int64_t HeldBytes(const fb::Artifact &a, int rank, bool is_state);

}  // namespace weft::artifact

#endif

// The schedule a compiled artifact carries (its Pipeline table) in the
// schedule core's terms, for weft-dump --schedule: the per-rank lists, the
// stages' costs for Simulate, and what each stage keeps per microbatch.
#ifndef WEFT_RUNTIME_PIPELINE_ARTIFACT_SCHEDULE_H_
#define WEFT_RUNTIME_PIPELINE_ARTIFACT_SCHEDULE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact_generated.h"
#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

namespace weft::pipeline {

struct ArtifactSchedule {
  Schedule schedule;
  // Per global stage (chunk * P + rank), in units of the stages' mean
  // forward (the cost model's seconds are tiny; only ratios matter), or the
  // defaults (forward 1, backward 2) when the artifact has no costs.
  Costs costs;
  double seconds_per_unit = 0;  // 0 when the artifact has no costs
  std::vector<int64_t> stash_bytes;      // per global stage, per in-flight microbatch
  std::vector<int64_t> first_block, last_block;  // per global stage
};

// NotFound when the artifact has no Pipeline table (compiled without pp).
absl::StatusOr<ArtifactSchedule> ReadArtifactSchedule(const fb::Artifact &artifact);

// Per global stage: the most microbatches whose forward has run on it and
// whose backward has not yet, along its rank's list.
std::vector<int> PeakInFlightPerStage(const Schedule &schedule);

}  // namespace weft::pipeline

#endif  // WEFT_RUNTIME_PIPELINE_ARTIFACT_SCHEDULE_H_

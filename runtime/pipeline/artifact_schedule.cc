#include "runtime/pipeline/artifact_schedule.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace weft::pipeline {

absl::StatusOr<ArtifactSchedule> ReadArtifactSchedule(const fb::Artifact &a) {
  const fb::Pipeline *p = a.pipeline();
  if (p == nullptr)
    return absl::NotFoundError(
        "the artifact has no pipeline schedule: it was compiled without a pp mesh axis "
        "(weftc --mesh=pp=P writes one)");
  // The reader checked the sizes and ranges; the kind is checked here.
  absl::StatusOr<ScheduleKind> kind = ParseScheduleKind(p->schedule()->str());
  if (!kind.ok()) return kind.status();
  ArtifactSchedule out;
  ScheduleOptions &o = out.schedule.options;
  o.kind = *kind;
  o.stages = p->stages();
  o.virtual_stages = p->virtual_stages();
  o.microbatches = p->microbatches();
  for (const fb::PipelineRank *rank : *p->ranks()) {
    out.schedule.ranks.emplace_back();
    for (const fb::PipelineOp *op : *rank->ops())
      out.schedule.ranks.back().push_back(
          {static_cast<OpKind>(op->kind()), op->microbatch(), op->chunk(), op->peer()});
  }
  double total = 0;
  for (const fb::PipelineStage *s : *p->stage_info()) {
    out.costs.stage_forward.push_back(s->forward_cost());
    out.costs.stage_backward.push_back(s->backward_cost());
    out.stash_bytes.push_back(s->stash_bytes());
    out.first_block.push_back(s->first_block());
    out.last_block.push_back(s->last_block());
    total += s->forward_cost();
  }
  if (total > 0) {
    out.seconds_per_unit = total / p->stage_info()->size();
    for (auto *v : {&out.costs.stage_forward, &out.costs.stage_backward})
      for (double &c : *v) c /= out.seconds_per_unit;
  } else {
    out.costs.stage_forward.clear();
    out.costs.stage_backward.clear();
  }
  return out;
}

std::vector<int> PeakInFlightPerStage(const Schedule &s) {
  const int P = s.options.stages, V = s.options.virtual_stages;
  std::vector<int> peak(P * V, 0);
  for (int r = 0; r < static_cast<int>(s.ranks.size()); ++r) {
    std::vector<int> now(V, 0);
    for (const Instruction &in : s.ranks[r]) {
      if (in.chunk < 0 || in.chunk >= V) continue;
      if (in.kind == OpKind::kForward) ++now[in.chunk];
      if (in.kind == OpKind::kBackward) --now[in.chunk];
      int &best = peak[GlobalStage(r, in.chunk, P)];
      best = std::max(best, now[in.chunk]);
    }
  }
  return peak;
}

}  // namespace weft::pipeline

// Pipeline schedules: the static per-rank instruction lists of GPipe, 1F1B
// and Megatron's interleaved 1F1B. LLVM-free, so that the compiler, the
// runtime and weft-dump share one definition of what a schedule is.
//
// Stages: P ranks each hold V model chunks. Chunk c of rank r is the global
// stage c * P + r (Megatron's placement), so with V > 1 a microbatch goes
// round the ranks V times. Activations flow from stage s to s + 1, gradients
// from s + 1 back to s.
#ifndef WEFT_RUNTIME_PIPELINE_SCHEDULE_H_
#define WEFT_RUNTIME_PIPELINE_SCHEDULE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::pipeline {

enum class ScheduleKind { kGPipe, k1F1B, kInterleaved };

enum class OpKind {
  kForward,
  kBackward,
  kSendActivation,  // to the next stage, after a forward
  kRecvActivation,  // from the previous stage, before a forward
  kSendGradient,    // to the previous stage, after a backward
  kRecvGradient,    // from the next stage, before a backward
  kOptimizerStep,   // once, after every backward of the batch
};

// One instruction of a rank's list. `chunk` is the local model chunk
// (0..V-1) that computes, or that produced (send) or will consume (recv) the
// tensor; `peer` is the other rank of a send or receive, -1 otherwise.
struct Instruction {
  OpKind kind;
  int microbatch = -1;
  int chunk = -1;
  int peer = -1;

  bool operator==(const Instruction &o) const {
    return kind == o.kind && microbatch == o.microbatch && chunk == o.chunk && peer == o.peer;
  }
};

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::k1F1B;
  int stages = 1;          // P: ranks of the pipeline
  int microbatches = 1;    // M
  int virtual_stages = 1;  // V: model chunks per rank (interleaved only)
  // Relative costs of a forward and a backward of one stage: they decide
  // where the sends and receives go in the lists (not the compute order).
  double forward_cost = 1;
  double backward_cost = 2;
};

struct Schedule {
  ScheduleOptions options;
  std::vector<std::vector<Instruction>> ranks;  // P lists
};

// Builds the lists. Sends and receives are ordered so that the lists run
// without deadlock even where a send blocks until its receive is posted
// (MPI_Send); Simulate() checks it.
absl::StatusOr<Schedule> BuildSchedule(const ScheduleOptions &options);

absl::StatusOr<ScheduleKind> ParseScheduleKind(const std::string &name);
const char *ScheduleKindName(ScheduleKind kind);

// Global stage of chunk `chunk` on rank `rank`, and back.
inline int GlobalStage(int rank, int chunk, int stages) { return chunk * stages + rank; }
inline int RankOfStage(int stage, int stages) { return stage % stages; }
inline int ChunkOfStage(int stage, int stages) { return stage / stages; }

bool IsCompute(OpKind kind);
bool IsSend(OpKind kind);
bool IsRecv(OpKind kind);

// "F3" (or "F3.1" for microbatch 3 on chunk 1 when there are chunks),
// "send act mb3 -> rank 1", "recv grad mb3.1 <- rank 2", "optimizer step".
std::string InstructionName(const Instruction &inst, int virtual_stages);

}  // namespace weft::pipeline

#endif  // WEFT_RUNTIME_PIPELINE_SCHEDULE_H_

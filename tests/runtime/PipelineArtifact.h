// A two-stage pipeline artifact written by hand, the way weftc will write
// them (artifact format 5), for the runtime's pipeline tests before the
// compiler can: PipelineExecutorTest (in process), MpiPipelineTest (under
// mpirun) and weft-pp-artifact (which writes it to a file for the lit tests).
//
// The model, on a batch x [B, 3]:
//   stage 0 (pp rank 0):  a = x W0,  h = a T           W0 [3, 4], T [4, 4]
//   stage 1 (pp rank 1):  g = h T,   y = g W1           T [4, 4], W1 [4, 2]
//   loss = sum over rows of 0.5 |y|^2                   (so dy = y)
// T is tied: both stages hold it and all-reduce its gradient over pp. Each
// pp rank's program is its list of the schedule (BuildSchedule) unrolled:
// every microbatch's forward and backward, h sent forward and dh back
// (Send/Recv along pp), gradients summed over microbatches (and over dp on
// a [pp, dp] mesh), the loss all-reduced over pp, and SGD with momentum.
#ifndef WEFT_TESTS_RUNTIME_PIPELINEARTIFACT_H
#define WEFT_TESTS_RUNTIME_PIPELINEARTIFACT_H

#include <string>

#include "runtime/pipeline/schedule.h"

namespace weft::testing {

inline constexpr int kIn = 3, kHidden = 4, kOut = 2;

struct PipelineArtifactOptions {
  pipeline::ScheduleKind schedule = pipeline::ScheduleKind::k1F1B;
  int microbatches = 2;
  int dp = 1;     // a [pp=2, dp] mesh when more than 1
  int batch = 8;  // rows of x: a multiple of microbatches x dp
  float lr = 0.1f, momentum = 0.9f;
  bool pipeline_table = true;
  // Flaws the verifier must refuse.
  enum class Flaw {
    kNone,
    kReadsAbsentParameter,  // stage 0 reads W1, which it does not hold
    kUnevenStage,           // dp rank 1 of stage 1 does not hold W1 (dp = 2)
    kPeerOutOfRange,        // a send to pp rank 2 of 2
    kUnknownAxis,           // the mesh axis "xp" instead of "pp"
    kAxesOutOfOrder,        // the mesh [dp, pp] (dp = 2)
    kTableStages,           // a Pipeline table of 3 stages on pp = 2
    kTableMissingSend,      // the table's rank 0 list lacks its first send (the programs are fine)
  };
  Flaw flaw = Flaw::kNone;
};

// The artifact file's bytes (header and FlatBuffer).
std::string BuildPipelineArtifact(const PipelineArtifactOptions &options);

}  // namespace weft::testing

#endif  // WEFT_TESTS_RUNTIME_PIPELINEARTIFACT_H

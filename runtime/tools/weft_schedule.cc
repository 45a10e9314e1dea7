// weft-schedule: builds a pipeline schedule, checks it (no deadlock,
// matching sends and receives) and draws it, without a model.
//
//   weft-schedule --stages=4 --microbatches=8 --schedule=1f1b
//   weft-schedule --stages=4 --microbatches=8 --schedule=interleaved --virtual-stages=2 --format=svg > s.svg
//   weft-schedule --stages=2 --microbatches=3 --format=list      every send and receive, with times
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "runtime/pipeline/render.h"
#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

ABSL_FLAG(int, stages, 4, "Pipeline stages P (one rank each)");
ABSL_FLAG(int, microbatches, 8, "Microbatches M per batch");
ABSL_FLAG(int, virtual_stages, 1, "Model chunks V per rank (the interleaved schedule)");
ABSL_FLAG(std::string, schedule, "1f1b", "gpipe, 1f1b or interleaved (Megatron's interleaved 1F1B)");
ABSL_FLAG(std::string, format, "text",
          "text (one line per rank), list (every instruction with its times) or svg");
ABSL_FLAG(double, forward_cost, 1, "Time of one forward of one stage (chunk)");
ABSL_FLAG(double, backward_cost, 2, "Time of one backward of one stage (chunk)");
ABSL_FLAG(std::string, sends, "buffered",
          "Timing of the sends: buffered (a send returns at once: a runtime that overlaps them) or "
          "blocking (a send waits for its receive, as MPI_Send). The deadlock check always uses "
          "blocking");
ABSL_FLAG(double, comm_latency, 0, "Time of one send/receive once both sides are posted");

namespace {

int Fail(const std::string &message) {
  std::cerr << "weft-schedule: error: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  // The flags are spelled with dashes (--virtual-stages) like weftc's;
  // absl's names have underscores.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string &a = args[i];
    if (a.rfind("--", 0) != 0) continue;
    for (size_t j = 2; j < a.size() && a[j] != '='; ++j)
      if (a[j] == '-') a[j] = '_';
  }
  std::vector<char *> argv2;
  for (std::string &a : args) argv2.push_back(a.data());
  absl::SetProgramUsageMessage(
      "weft-schedule --stages=4 --microbatches=8 --schedule=1f1b [--virtual-stages=2] "
      "[--format=text|list|svg]");
  std::vector<char *> rest = absl::ParseCommandLine(static_cast<int>(argv2.size()), argv2.data());
  if (rest.size() > 1) return Fail(std::string("unexpected argument '") + rest[1] + "'");

  absl::StatusOr<weft::pipeline::ScheduleKind> kind =
      weft::pipeline::ParseScheduleKind(absl::GetFlag(FLAGS_schedule));
  if (!kind.ok()) return Fail(std::string(kind.status().message()));
  weft::pipeline::ScheduleOptions options;
  options.kind = *kind;
  options.stages = absl::GetFlag(FLAGS_stages);
  options.microbatches = absl::GetFlag(FLAGS_microbatches);
  options.virtual_stages = absl::GetFlag(FLAGS_virtual_stages);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "text" && format != "list" && format != "svg")
    return Fail("unknown --format=" + format + "; expected text, list or svg");
  const std::string sends = absl::GetFlag(FLAGS_sends);
  if (sends != "blocking" && sends != "buffered")
    return Fail("unknown --sends=" + sends + "; expected blocking or buffered");
  weft::pipeline::Costs costs;
  costs.forward = absl::GetFlag(FLAGS_forward_cost);
  costs.backward = absl::GetFlag(FLAGS_backward_cost);
  costs.comm = absl::GetFlag(FLAGS_comm_latency);
  if (!(costs.forward > 0) || !(costs.backward > 0) || costs.comm < 0)
    return Fail("the forward and backward costs must be > 0, the latency >= 0");
  options.forward_cost = costs.forward;
  options.backward_cost = costs.backward;

  absl::StatusOr<weft::pipeline::Schedule> schedule = weft::pipeline::BuildSchedule(options);
  if (!schedule.ok()) return Fail(std::string(schedule.status().message()));
  // The check runs with blocking sends: lists that pass it run with either.
  absl::StatusOr<weft::pipeline::Simulation> sim = weft::pipeline::Simulate(*schedule, costs);
  if (!sim.ok()) return Fail(std::string(sim.status().message()));
  if (sends == "buffered") {
    sim = weft::pipeline::Simulate(*schedule, costs, weft::pipeline::SendMode::kBuffered);
    if (!sim.ok()) return Fail(std::string(sim.status().message()));
  }
  if (format == "svg") {
    std::cout << weft::pipeline::RenderSvg(*schedule, *sim, costs);
  } else if (format == "list") {
    std::cout << weft::pipeline::RenderList(*schedule, *sim);
  } else {
    std::cout << weft::pipeline::RenderText(*schedule, *sim, costs);
  }
  return 0;
}

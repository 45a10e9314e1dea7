// weft-pp-artifact: writes the hand-written two-stage pipeline artifact of
// PipelineArtifact.h to a file, for the lit tests of weft-dump --schedule
// and weft-run (until weftc compiles pipelines).
//
//   weft-pp-artifact out.weft [gpipe|1f1b] [microbatches] [dp] [notable|broken]
// notable: without the Pipeline table; broken: the table's rank 0 list lacks
// its first send (the programs are right).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "PipelineArtifact.h"

int main(int argc, char **argv) {
  if (argc < 2 || argc > 6) {
    std::fprintf(stderr, "usage: weft-pp-artifact out.weft [gpipe|1f1b] [microbatches] [dp] [notable|broken]\n");
    return 2;
  }
  weft::testing::PipelineArtifactOptions o;
  if (argc > 2) {
    auto kind = weft::pipeline::ParseScheduleKind(argv[2]);
    if (!kind.ok()) {
      std::fprintf(stderr, "weft-pp-artifact: %s\n", std::string(kind.status().message()).c_str());
      return 2;
    }
    o.schedule = *kind;
  }
  if (argc > 3) o.microbatches = std::atoi(argv[3]);
  if (argc > 4) o.dp = std::atoi(argv[4]);
  if (argc > 5) {
    o.pipeline_table = std::string(argv[5]) != "notable";
    if (std::string(argv[5]) == "broken") o.flaw = weft::testing::PipelineArtifactOptions::Flaw::kTableMissingSend;
  }
  o.batch = 2 * o.microbatches * o.dp;  // two rows per microbatch and rank
  std::ofstream out(argv[1], std::ios::binary);
  const std::string bytes = weft::testing::BuildPipelineArtifact(o);
  out.write(bytes.data(), bytes.size());
  return out ? 0 : 1;
}

// 1,000 corrupted copies of a valid artifact: truncations, byte flips with
// the stale checksum (always rejected), and byte flips with the checksum
// fixed up, which get past the checksum and exercise the structural and
// semantic verifier. Each must be rejected with a message or run to an OK
// or error Status. Built against the ASan runtime, so a bad access fails.
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/artifact/format.h"
#include "runtime/executor/init.h"
#include "weft/runtime.h"

namespace weft {
namespace {

std::string ReadFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void FixChecksum(std::string &bytes) {
  if (bytes.size() < artifact::kHeaderSize) return;
  const auto *payload = reinterpret_cast<const uint8_t *>(bytes.data()) + artifact::kHeaderSize;
  std::string header = artifact::MakeHeader(payload, bytes.size() - artifact::kHeaderSize);
  bytes.replace(0, artifact::kHeaderSize, header);
}

// WEFT_FUZZ_ARTIFACTS: colon-separated compiled .weft files (ctest passes an
// inference, a training, a data-parallel ZeRO-1 and a pipeline one, so every
// opcode's checks are exercised).
std::vector<std::string> Seeds() {
  std::vector<std::string> out;
  const char *list = std::getenv("WEFT_FUZZ_ARTIFACTS");
  std::string s = list ? list : "";
  for (size_t at = 0; at < s.size();) {
    size_t end = s.find(':', at);
    if (end == std::string::npos) end = s.size();
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

class ArtifactFuzzTest : public ::testing::TestWithParam<int> {};

TEST_P(ArtifactFuzzTest, CorruptedArtifactsAreRejectedOrRunSafely) {
  const std::vector<std::string> seeds = Seeds();
  ASSERT_GT(seeds.size(), static_cast<size_t>(GetParam()))
      << "set WEFT_FUZZ_ARTIFACTS to compiled .weft files";
  const std::string original = ReadFile(seeds[GetParam()]);
  ASSERT_GT(original.size(), artifact::kHeaderSize);
  // A corrupted pipeline whose receive waits for a send that never comes
  // gives up after 30 s rather than the default 600.
  auto runtime = Runtime::Create({.collective_timeout_s = 30});
  ASSERT_TRUE(runtime.ok());
  ASSERT_TRUE((*runtime)->LoadFromBytes(original, "original").ok()) << "the seed artifact must load";

  std::mt19937_64 rng(20261125 + GetParam());
  int rejected = 0, ran_ok = 0, ran_error = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string bytes = original;
    const int kind = i % 4;
    if (kind == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      const int flips = 1 + rng() % 8;
      for (int f = 0; f < flips; ++f) {
        size_t at = artifact::kHeaderSize + rng() % (bytes.size() - artifact::kHeaderSize);
        bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
      }
      if (kind >= 2) FixChecksum(bytes);
    }
    auto program = (*runtime)->LoadFromBytes(bytes, "fuzzed");
    if (!program.ok()) {
      ++rejected;
      EXPECT_FALSE(program.status().message().empty());
      continue;
    }
    EXPECT_GE(kind, 2) << "truncated or stale-checksum artifact #" << i << " was accepted";
    Program &p = **program;
    ASSERT_TRUE(p.InitParameters(1).ok());
    std::map<std::string, Tensor> inputs;
    for (const TensorInfo &in : p.inputs()) {
      Tensor t(in.dtype, in.shape);
      if (in.dtype == DType::kI32 || in.dtype == DType::kI64)
        FillRandomInts(t, in.int_bound, 1, in.name);
      inputs[in.name] = t;
    }
    auto out = p.Run(inputs);
    out.ok() ? ++ran_ok : ++ran_error;
  }
  std::printf("rejected %d, ran %d (ok) + %d (error status)\n", rejected, ran_ok, ran_error);
  EXPECT_GE(rejected, 500);  // every truncation and every stale checksum, at least
}

INSTANTIATE_TEST_SUITE_P(Seeds, ArtifactFuzzTest, ::testing::Values(0, 1, 2, 3));

}  // namespace
}  // namespace weft

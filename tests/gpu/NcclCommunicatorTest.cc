// The Communicator conformance suite (tests/runtime/CommunicatorChecks.h,
// shared with inprocess and mpi) on the nccl communicator, one thread per
// rank and one GPU per rank. The checks hand host buffers; HostStaged copies
// them to the rank's GPU and back around each call. Both ways of making a
// group are checked: ncclCommInitAll (one process) and the unique id passed
// through a bootstrap communicator (what MPI does across processes; here an
// in-process group plays MPI's part).
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "../runtime/CommunicatorChecks.h"
#include "HostStaged.h"
#include "RequireGpu.h"
#include "runtime/collectives/nccl.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"

namespace weft {
namespace {

using namespace conformance;

enum class Made { kInitAll, kBootstrap };

// NCCL communicators for `n` ranks on GPUs 0..n-1, made the given way.
std::vector<std::unique_ptr<NcclCommunicator>> MakeGroup(
    int n, Made how, std::vector<std::unique_ptr<Communicator>> *bootstrap, double timeout_s = 120) {
  std::vector<int> gpus(n);
  for (int r = 0; r < n; ++r) gpus[r] = r;
  std::vector<std::unique_ptr<NcclCommunicator>> out;
  if (how == Made::kInitAll) {
    auto group = CreateNcclGroup(gpus, timeout_s);
    EXPECT_TRUE(group.ok()) << group.status();
    if (group.ok()) out = std::move(*group);
    return out;
  }
  *bootstrap = CreateInProcessGroup(n);
  out.resize(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      auto c = CreateNcclCommunicator(*(*bootstrap)[r], gpus[r], timeout_s);
      EXPECT_TRUE(c.ok()) << c.status();
      if (c.ok()) out[r] = std::move(*c);
    });
  for (auto &t : threads) t.join();
  for (auto &c : out)
    if (!c) out.clear();
  return out;
}

// Runs `body(rank, comm)` on one thread per rank, each through HostStaged.
void OnRanks(std::vector<std::unique_ptr<NcclCommunicator>> &group,
             const std::function<void(int, Communicator &)> &body) {
  std::vector<std::thread> threads;
  for (size_t r = 0; r < group.size(); ++r)
    threads.emplace_back([&, r] {
      HostStaged staged(*group[r]);
      body(static_cast<int>(r), staged);
    });
  for (auto &t : threads) t.join();
}

struct NcclCase {
  int ranks;
  Made how;
};
std::string NameOf(const NcclCase &c) {
  return std::to_string(c.ranks) + "ranks_" + (c.how == Made::kInitAll ? "InitAll" : "Bootstrap");
}
// gtest prints a parameter with this rather than as raw bytes.
void PrintTo(const NcclCase &c, std::ostream *os) { *os << NameOf(c); }

class NcclConformance : public ::testing::TestWithParam<NcclCase> {};

TEST_P(NcclConformance, EveryCollectiveEveryDtype) {
  const NcclCase p = GetParam();
  WEFT_REQUIRE_GPUS(p.ranks);
  std::vector<std::unique_ptr<Communicator>> bootstrap;
  auto group = MakeGroup(p.ranks, p.how, &bootstrap);
  ASSERT_EQ(static_cast<int>(group.size()), p.ranks);
  for (auto [count, dtype] : std::vector<std::pair<int64_t, DType>>{
           {1, DType::kF32}, {7, DType::kF32}, {1001, DType::kF32}, {1 << 20, DType::kF32},
           {13, DType::kBF16}, {9, DType::kF16}, {11, DType::kI32}, {6, DType::kI64},
           {0, DType::kF32}}) {
    const Case c{p.ranks, count, dtype};
    SCOPED_TRACE(CaseName(c));
    OnRanks(group, [&](int r, Communicator &comm) {
      CheckAllReduce(r, comm, c);
      CheckAllGather(r, comm, c);
      CheckReduceScatter(r, comm, c);
      CheckBroadcast(r, comm, c);
      CheckAllToAll(r, comm, c);
      CheckSendRecvChain(r, comm, c);
      ASSERT_TRUE(comm.Barrier().ok());
    });
  }
}

INSTANTIATE_TEST_SUITE_P(
    Nccl, NcclConformance,
    ::testing::Values(NcclCase{1, Made::kInitAll}, NcclCase{1, Made::kBootstrap},
                      NcclCase{2, Made::kInitAll}, NcclCase{2, Made::kBootstrap},
                      NcclCase{4, Made::kInitAll}, NcclCase{8, Made::kInitAll}),
    [](const ::testing::TestParamInfo<NcclCase> &info) { return NameOf(info.param); });

// The executor's pattern: a kernel's output on the compute stream feeds a
// collective on the communication stream, ordered by the device's event.
TEST(NcclOnADevice, CollectiveOnTheDevicesCommStreamSeesTheComputeStreamsWork) {
  WEFT_REQUIRE_GPUS(1);
  auto dev = cuda::Device::Create(0, int64_t{64} << 20);
  ASSERT_TRUE(dev.ok()) << dev.status();
  auto group = CreateNcclGroup({0}, 120, {(*dev)->comm_stream()});
  ASSERT_TRUE(group.ok()) << group.status();
  NcclCommunicator &comm = *(*group)[0];
  EXPECT_EQ(comm.stream(), (*dev)->comm_stream());
  const int64_t n = (int64_t{64} << 20) / 4;
  int32_t *buf = static_cast<int32_t *>(*(*dev)->ArenaAt(0, n * 4));
  for (int round = 1; round <= 4; ++round) {
    ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(buf, round, n * 4, (*dev)->compute_stream())).ok());
    ASSERT_TRUE((*dev)->CommWaitsForCompute().ok());
    ASSERT_TRUE(comm.AllReduce(buf, buf, n, DType::kI32, ReduceKind::kMax).ok());  // one rank: a copy
    int32_t last = 0;
    ASSERT_TRUE((*dev)->CopyToHost(&last, buf + n - 1, 4).ok());
    EXPECT_EQ(last, round * 0x01010101) << "round " << round;
  }
}

TEST(NcclErrors, BadBroadcastRoot) {
  WEFT_REQUIRE_GPUS(1);
  auto group = CreateNcclGroup({0});
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ((*group)[0]->Broadcast(nullptr, 1, DType::kF32, 3).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NcclErrors, OneGpuTwiceIsRefusedWithTheReason) {
  WEFT_REQUIRE_GPUS(1);
  auto group = CreateNcclGroup({0, 0});
  ASSERT_FALSE(group.ok());
  EXPECT_NE(std::string(group.status().message()).find("distinct GPU per rank"), std::string::npos)
      << group.status();
}

TEST(NcclErrors, AfterAbortEveryCallFailsWithTheReason) {
  WEFT_REQUIRE_GPUS(1);
  auto group = CreateNcclGroup({0});
  ASSERT_TRUE(group.ok()) << group.status();
  (*group)[0]->Abort("rank 0 failed: embedding index 999 out of range");
  const absl::Status s = (*group)[0]->Barrier();
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_NE(std::string(s.message()).find("embedding index 999"), std::string::npos) << s;
}

// A rank that never comes: the other gives up after the timeout, saying so,
// instead of hanging in NCCL's kernel.
TEST(NcclErrors, AMissingRankTimesOut) {
  WEFT_REQUIRE_GPUS(2);
  std::vector<std::unique_ptr<Communicator>> none;
  auto group = MakeGroup(2, Made::kInitAll, &none, /*timeout_s=*/1.0);
  ASSERT_EQ(group.size(), 2u);
  HostStaged staged(*group[0]);
  float x = 1;
  const absl::Status s = staged.AllReduce(&x, &x, 1, DType::kF32, ReduceKind::kSum);
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_NE(std::string(s.message()).find("timed out after 1 s"), std::string::npos) << s;
  // Rank 1 learns that its group is gone instead of waiting.
  EXPECT_TRUE(absl::IsAborted(group[1]->Barrier()));
}

}  // namespace
}  // namespace weft

// The Communicator conformance suite on the in-process implementation:
// every collective, every dtype, sizes that do not divide evenly by the
// ranks, in-place buffers (checks in CommunicatorChecks.h, shared with the
// MPI harness).
#include <functional>
#include <thread>

#include "CommunicatorChecks.h"

namespace weft {
namespace {

using namespace conformance;

// Runs `body(rank, comm)` on one thread per rank.
void OnRanks(int size, const std::function<void(int, Communicator &)> &body) {
  auto group = CreateInProcessGroup(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) threads.emplace_back([&, r] { body(r, *group[r]); });
  for (auto &t : threads) t.join();
}

class CommunicatorTest : public ::testing::TestWithParam<Case> {};

TEST_P(CommunicatorTest, AllReduceEveryKind) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckAllReduce(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, AllGatherPlacesEachRank) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckAllGather(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, ReduceScatterGivesEachRankItsSlice) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckReduceScatter(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, AllToAllTransposesTheSlices) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckAllToAll(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, SendRecvAroundARing) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckSendRecvRing(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, SendRecvInAChain) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckSendRecvChain(r, c, GetParam()); });
}
TEST_P(CommunicatorTest, BroadcastFromTheLastRank) {
  OnRanks(GetParam().ranks, [&](int r, Communicator &c) { CheckBroadcast(r, c, GetParam()); });
}

INSTANTIATE_TEST_SUITE_P(
    InProcess, CommunicatorTest,
    ::testing::Values(Case{1, 5, DType::kF32}, Case{2, 7, DType::kF32}, Case{3, 10, DType::kF32},
                      Case{4, 1, DType::kF32}, Case{8, 1001, DType::kF32}, Case{4, 13, DType::kBF16},
                      Case{3, 9, DType::kF16}, Case{4, 11, DType::kI32}, Case{5, 6, DType::kI64},
                      Case{2, 0, DType::kF32}),
    [](const ::testing::TestParamInfo<Case> &info) { return CaseName(info.param); });

TEST(CommunicatorSends, SendsDoNotWaitForTheirReceives) {
  for (int ranks : {2, 3}) OnRanks(ranks, [&](int r, Communicator &c) { CheckSendsDoNotWait(r, c); });
}

TEST(CommunicatorErrors, MismatchedCountsAreAnErrorOnEveryRank) {
  OnRanks(3, [&](int r, Communicator &comm) {
    std::vector<float> buf(8, 1.0f);
    absl::Status s = comm.AllReduce(buf.data(), buf.data(), r == 1 ? 8 : 4, DType::kF32, ReduceKind::kSum);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(std::string(s.message()).find("collective size mismatch"), std::string::npos);
  });
}

TEST(CommunicatorErrors, BadBroadcastRoot) {
  OnRanks(2, [&](int, Communicator &comm) {
    float x = 0;
    EXPECT_FALSE(comm.Broadcast(&x, 1, DType::kF32, 5).ok());
  });
}

// A rank that never comes: the others give up after the timeout, with an
// error that says so, instead of hanging.
TEST(CommunicatorErrors, AMissingRankTimesOutOnEveryOtherRank) {
  auto group = CreateInProcessGroup(3, /*timeout_s=*/0.2);
  std::vector<absl::Status> got(3);
  std::vector<std::thread> threads;
  for (int r = 1; r < 3; ++r)  // rank 0 never calls
    threads.emplace_back([&, r] {
      float x = 1;
      got[r] = group[r]->AllReduce(&x, &x, 1, DType::kF32, ReduceKind::kSum);
    });
  for (auto &t : threads) t.join();
  for (int r = 1; r < 3; ++r) {
    EXPECT_TRUE(absl::IsDeadlineExceeded(got[r]) || absl::IsAborted(got[r])) << got[r];
    EXPECT_NE(std::string(got[r].message()).find("for ranks that never came"), std::string::npos)
        << got[r];
  }
  // The group is dead: later collectives fail at once.
  float x = 1;
  EXPECT_TRUE(absl::IsAborted(group[0]->AllReduce(&x, &x, 1, DType::kF32, ReduceKind::kSum)));
}

// A rank that fails aborts the group: the ranks waiting in a collective, or
// in a receive, return at once with its reason.
TEST(CommunicatorErrors, AFailedRankReleasesTheOthers) {
  auto group = CreateInProcessGroup(3, /*timeout_s=*/600);
  std::vector<absl::Status> got(3);
  std::thread waiting_collective([&] {
    float x = 1;
    got[1] = group[1]->AllReduce(&x, &x, 1, DType::kF32, ReduceKind::kSum);
  });
  std::thread waiting_recv([&] {
    float x = 0;
    got[2] = group[2]->Recv(&x, 1, DType::kF32, 0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  group[0]->Abort("rank 0 failed: embedding index 999 out of range");
  waiting_collective.join();
  waiting_recv.join();
  EXPECT_TRUE(absl::IsAborted(got[1])) << got[1];
  EXPECT_NE(std::string(got[1].message()).find("embedding index 999"), std::string::npos) << got[1];
  EXPECT_TRUE(absl::IsAborted(got[2])) << got[2];
}

}  // namespace
}  // namespace weft

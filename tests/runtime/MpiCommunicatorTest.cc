// The Communicator conformance suite on MPI: every process is one rank.
// Run it as `mpirun -np 4 weft-mpi-communicator-test` (ctest does); with one
// process it says it needs mpirun and fails rather than passing for nothing.
#include "CommunicatorChecks.h"

namespace weft {
namespace {

using namespace conformance;

Communicator &World() {
  static std::unique_ptr<Communicator> comm = [] {
    auto c = CreateMpiCommunicator();
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }();
  return *comm;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (auto [count, dtype] : std::vector<std::pair<int64_t, DType>>{
           {1, DType::kF32}, {7, DType::kF32}, {1001, DType::kF32}, {13, DType::kBF16},
           {9, DType::kF16}, {11, DType::kI32}, {6, DType::kI64}, {0, DType::kF32}})
    cases.push_back({World().size(), count, dtype});
  return cases;
}

TEST(MpiCommunicatorTest, EveryCollectiveEveryDtype) {
  ASSERT_GT(World().size(), 1) << "run under mpirun -np N with N > 1";
  for (const Case &c : Cases()) {
    SCOPED_TRACE(CaseName(c));
    CheckAllReduce(World().rank(), World(), c);
    CheckAllGather(World().rank(), World(), c);
    CheckReduceScatter(World().rank(), World(), c);
    CheckBroadcast(World().rank(), World(), c);
    CheckAllToAll(World().rank(), World(), c);
    CheckSendRecvRing(World().rank(), World(), c);
    CheckSendRecvChain(World().rank(), World(), c);
  }
  ASSERT_TRUE(World().Barrier().ok());
}

// A pipeline's ranks send and compute on: a ring of large sends, posted
// before any receive, must not deadlock (see CheckSendsDoNotWait).
TEST(MpiCommunicatorTest, SendsDoNotWaitForTheirReceives) {
  ASSERT_GT(World().size(), 1) << "run under mpirun -np N with N > 1";
  CheckSendsDoNotWait(World().rank(), World());
}

// The axes of a 2-D mesh: split the world in groups of 2 (by the rank's
// high bits, as a dp x tp mesh groups its tp ranks) and in groups of the
// same low bit (dp); each group must pass the same checks with its own ranks.
TEST(MpiCommunicatorTest, SubCommunicatorsOfA2DMesh) {
  ASSERT_EQ(World().size() % 2, 0) << "run under mpirun -np N with N even";
  const int r = World().rank();
  auto tp = CreateMpiSubCommunicator(/*color=*/r / 2, /*key=*/r % 2);
  auto dp = CreateMpiSubCommunicator(/*color=*/r % 2, /*key=*/r / 2);
  ASSERT_TRUE(tp.ok() && dp.ok());
  ASSERT_EQ((*tp)->size(), 2);
  ASSERT_EQ((*tp)->rank(), r % 2);
  ASSERT_EQ((*dp)->size(), World().size() / 2);
  ASSERT_EQ((*dp)->rank(), r / 2);
  for (Communicator *group : {tp->get(), dp->get()})
    for (auto [count, dtype] : std::vector<std::pair<int64_t, DType>>{{7, DType::kF32}, {13, DType::kBF16}, {6, DType::kI64}}) {
      const Case c{group->size(), count, dtype};
      SCOPED_TRACE(CaseName(c));
      CheckAllReduce(group->rank(), *group, c);
      CheckAllGather(group->rank(), *group, c);
      CheckReduceScatter(group->rank(), *group, c);
      CheckBroadcast(group->rank(), *group, c);
    }
  ASSERT_TRUE(World().Barrier().ok());
}

}  // namespace
}  // namespace weft

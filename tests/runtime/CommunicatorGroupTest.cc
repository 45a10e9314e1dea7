// The group algorithm shared by inprocess and cuda-inprocess
// (runtime/collectives/group.h), checked here without a GPU:
//  - on a back end that holds every copy and reduction back until Settle,
//    as a CUDA stream holds its work until it is synchronized, the whole
//    conformance suite still passes: the group settles each rank's work
//    before every barrier, so no rank reads a buffer before it is written
//    or overwrites one another rank still reads (a missing Settle gives
//    stale or overwritten values here, as it would on the GPU);
//  - a rank whose memory operation fails, or whose buffer the back end
//    refuses, fails with that error and aborts the group: the others
//    return at once with its reason instead of waiting for the timeout.
#include <functional>
#include <thread>

#include "CommunicatorChecks.h"
#include "absl/strings/str_cat.h"
#include "runtime/collectives/group.h"

namespace weft {
namespace {

using namespace conformance;
using collectives::Bytes;
using collectives::MemoryOps;

// The host back end, asynchronous: copies and reductions run at Settle.
class Deferred final : public MemoryOps {
 public:
  absl::StatusOr<Bytes> Allocate(size_t bytes) override { return host_->Allocate(bytes); }
  absl::Status Copy(void *dst, const void *src, size_t bytes) override {
    pending_.push_back([=] { return host_->Copy(dst, src, bytes); });
    return absl::OkStatus();
  }
  absl::Status Reduce(const std::vector<const void *> &parts, void *dst, int64_t count, DType dtype,
                      ReduceKind kind) override {
    pending_.push_back([=] { return host_->Reduce(parts, dst, count, dtype, kind); });
    return absl::OkStatus();
  }
  absl::Status Release(Bytes bytes) override {  // after the pending copies out of it
    auto held = std::make_shared<Bytes>(std::move(bytes));
    pending_.push_back([held] {
      held->data.reset();
      return absl::OkStatus();
    });
    return absl::OkStatus();
  }
  absl::Status Settle() override {
    for (auto &op : pending_)
      if (absl::Status s = op(); !s.ok()) return s;
    pending_.clear();
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<MemoryOps> host_ = collectives::NewHostMemoryOps();
  std::vector<std::function<absl::Status()>> pending_;
};

// The host back end, except that one rank's reductions fail, or its buffers
// are refused.
class Failing final : public MemoryOps {
 public:
  enum What { kReduce, kBuffer };
  Failing(What what) : what_(what) {}
  absl::Status CheckBuffer(const void *, size_t, const char *role) override {
    if (what_ == kBuffer)
      return absl::InvalidArgumentError(absl::StrCat("the ", role, " is not on this device"));
    return absl::OkStatus();
  }
  absl::StatusOr<Bytes> Allocate(size_t bytes) override { return host_->Allocate(bytes); }
  absl::Status Copy(void *dst, const void *src, size_t bytes) override {
    return host_->Copy(dst, src, bytes);
  }
  absl::Status Reduce(const std::vector<const void *> &, void *, int64_t, DType, ReduceKind) override {
    return absl::InternalError("the reduction kernel failed");
  }
  absl::Status Settle() override { return absl::OkStatus(); }

 private:
  const What what_;
  std::unique_ptr<MemoryOps> host_ = collectives::NewHostMemoryOps();
};

void OnRanks(std::vector<std::unique_ptr<Communicator>> &group,
             const std::function<void(int, Communicator &)> &body) {
  std::vector<std::thread> threads;
  for (size_t r = 0; r < group.size(); ++r)
    threads.emplace_back([&, r] { body(static_cast<int>(r), *group[r]); });
  for (auto &t : threads) t.join();
}

std::vector<std::unique_ptr<Communicator>> DeferredGroup(int size) {
  std::vector<std::unique_ptr<MemoryOps>> ops;
  for (int r = 0; r < size; ++r) ops.push_back(std::make_unique<Deferred>());
  return collectives::CreateGroup(std::move(ops), /*timeout_s=*/60);
}

class GroupOnAStreamLikeBackEnd : public ::testing::TestWithParam<Case> {};

TEST_P(GroupOnAStreamLikeBackEnd, PassesTheConformanceSuite) {
  const Case c = GetParam();
  auto group = DeferredGroup(c.ranks);
  OnRanks(group, [&](int r, Communicator &comm) {
    CheckAllReduce(r, comm, c);
    CheckAllGather(r, comm, c);
    CheckReduceScatter(r, comm, c);
    CheckBroadcast(r, comm, c);
    CheckAllToAll(r, comm, c);
    CheckSendRecvRing(r, comm, c);
    CheckSendRecvChain(r, comm, c);
    ASSERT_TRUE(comm.Barrier().ok());
  });
}

INSTANTIATE_TEST_SUITE_P(
    Deferred, GroupOnAStreamLikeBackEnd,
    ::testing::Values(Case{1, 5, DType::kF32}, Case{2, 7, DType::kF32}, Case{3, 10, DType::kF32},
                      Case{8, 1001, DType::kF32}, Case{4, 13, DType::kBF16}, Case{3, 9, DType::kF16},
                      Case{4, 11, DType::kI32}, Case{5, 6, DType::kI64}, Case{2, 0, DType::kF32}),
    [](const ::testing::TestParamInfo<Case> &info) { return CaseName(info.param); });

TEST(GroupOnAStreamLikeBackEnd, SendsAreStagedBeforeTheyReturn) {
  for (int ranks : {2, 3}) {
    auto group = DeferredGroup(ranks);
    OnRanks(group, [&](int r, Communicator &c) { CheckSendsDoNotWait(r, c); });
  }
}

// Rank 1 of 3 fails as `what` says during an all-reduce.
std::vector<absl::Status> AllReduceWithRank1Failing(Failing::What what) {
  std::vector<std::unique_ptr<MemoryOps>> ops;
  for (int r = 0; r < 3; ++r)
    ops.push_back(r == 1 ? std::unique_ptr<MemoryOps>(std::make_unique<Failing>(what))
                         : collectives::NewHostMemoryOps());
  auto group = collectives::CreateGroup(std::move(ops), /*timeout_s=*/600);
  std::vector<absl::Status> got(3);
  OnRanks(group, [&](int r, Communicator &comm) {
    std::vector<float> x(16, 1.0f);
    got[r] = comm.AllReduce(x.data(), x.data(), 16, DType::kF32, ReduceKind::kSum);
  });
  return got;
}

TEST(GroupErrors, AFailedReductionAbortsTheGroupWithItsReason) {
  const std::vector<absl::Status> got = AllReduceWithRank1Failing(Failing::kReduce);
  EXPECT_TRUE(absl::IsInternal(got[1])) << got[1];
  for (int r : {0, 2}) {
    EXPECT_TRUE(absl::IsAborted(got[r])) << got[r];
    EXPECT_NE(std::string(got[r].message()).find("rank 1 failed: the reduction kernel failed"),
              std::string::npos)
        << got[r];
  }
}

TEST(GroupErrors, ARefusedBufferAbortsTheGroupWithItsReason) {
  const std::vector<absl::Status> got = AllReduceWithRank1Failing(Failing::kBuffer);
  EXPECT_TRUE(absl::IsInvalidArgument(got[1])) << got[1];
  EXPECT_NE(std::string(got[1].message()).find("send buffer is not on this device"), std::string::npos)
      << got[1];
  for (int r : {0, 2}) {
    EXPECT_TRUE(absl::IsAborted(got[r])) << got[r];
    EXPECT_NE(std::string(got[r].message()).find("rank 1 failed"), std::string::npos) << got[r];
  }
}

}  // namespace
}  // namespace weft

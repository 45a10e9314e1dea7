// The Communicator conformance suite: every collective, every dtype, sizes
// that do not divide evenly by the ranks, in-place buffers, and the results
// checked against sums computed here. It runs against each implementation
// (in-process today; NCCL and MPI plug into Groups() as they land).
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "runtime/collectives/communicator.h"
#include "runtime/cpu/kernels.h"

namespace weft {
namespace {

// Runs `body(rank, comm)` on one thread per rank.
void OnRanks(int size, const std::function<void(int, Communicator &)> &body) {
  auto group = CreateInProcessGroup(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) threads.emplace_back([&, r] { body(r, *group[r]); });
  for (auto &t : threads) t.join();
}

// A value that is exact in every dtype (small integers), distinct per rank.
double ValueOf(int rank, int64_t i) { return static_cast<double>((rank * 7 + i * 3) % 23) - 11; }

void Put(Tensor &t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32: t.data_as<float>()[i] = static_cast<float>(v); break;
    case DType::kBF16: t.data_as<uint16_t>()[i] = cpu::F32ToBf16(static_cast<float>(v)); break;
    case DType::kF16: t.data_as<uint16_t>()[i] = cpu::F32ToF16(static_cast<float>(v)); break;
    case DType::kI32: t.data_as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kI64: t.data_as<int64_t>()[i] = static_cast<int64_t>(v); break;
  }
}
double Get(const Tensor &t, int64_t i) {
  switch (t.dtype()) {
    case DType::kF32: return t.data_as<float>()[i];
    case DType::kBF16: return cpu::Bf16ToF32(t.data_as<uint16_t>()[i]);
    case DType::kF16: return cpu::F16ToF32(t.data_as<uint16_t>()[i]);
    case DType::kI32: return t.data_as<int32_t>()[i];
    case DType::kI64: return static_cast<double>(t.data_as<int64_t>()[i]);
  }
  return 0;
}

struct Case {
  int ranks;
  int64_t count;
  DType dtype;
};

class CommunicatorTest : public ::testing::TestWithParam<Case> {};

TEST_P(CommunicatorTest, AllReduceEveryKind) {
  const Case c = GetParam();
  for (ReduceKind kind : {ReduceKind::kSum, ReduceKind::kMax, ReduceKind::kMin, ReduceKind::kAverage}) {
    if (kind == ReduceKind::kAverage && (c.dtype == DType::kI32 || c.dtype == DType::kI64)) continue;
    OnRanks(c.ranks, [&](int r, Communicator &comm) {
      Tensor t(c.dtype, {c.count});
      for (int64_t i = 0; i < c.count; ++i) Put(t, i, ValueOf(r, i));
      ASSERT_TRUE(comm.AllReduce(t.data(), t.data(), c.count, c.dtype, kind).ok());  // in place
      for (int64_t i = 0; i < c.count; ++i) {
        double want = ValueOf(0, i);
        for (int s = 1; s < c.ranks; ++s) {
          double v = ValueOf(s, i);
          want = kind == ReduceKind::kMax   ? std::max(want, v)
                 : kind == ReduceKind::kMin ? std::min(want, v)
                                            : want + v;
        }
        if (kind == ReduceKind::kAverage) want /= c.ranks;
        const double tol = c.dtype == DType::kBF16 ? 0.05 * std::abs(want) + 0.05 : 1e-3;
        ASSERT_NEAR(Get(t, i), want, tol) << "rank " << r << " element " << i;
      }
    });
  }
}

TEST_P(CommunicatorTest, AllGatherPlacesEachRank) {
  const Case c = GetParam();
  OnRanks(c.ranks, [&](int r, Communicator &comm) {
    Tensor send(c.dtype, {c.count}), recv(c.dtype, {c.count * c.ranks});
    for (int64_t i = 0; i < c.count; ++i) Put(send, i, ValueOf(r, i));
    ASSERT_TRUE(comm.AllGather(send.data(), recv.data(), c.count, c.dtype).ok());
    Tensor want(c.dtype, {c.count * c.ranks});
    for (int s = 0; s < c.ranks; ++s)
      for (int64_t i = 0; i < c.count; ++i) Put(want, s * c.count + i, ValueOf(s, i));
    for (int64_t i = 0; i < c.count * c.ranks; ++i) ASSERT_EQ(Get(recv, i), Get(want, i));
  });
}

TEST_P(CommunicatorTest, ReduceScatterGivesEachRankItsSlice) {
  const Case c = GetParam();
  OnRanks(c.ranks, [&](int r, Communicator &comm) {
    Tensor send(c.dtype, {c.count * c.ranks}), recv(c.dtype, {c.count});
    for (int64_t i = 0; i < c.count * c.ranks; ++i) Put(send, i, ValueOf(r, i));
    ASSERT_TRUE(comm.ReduceScatter(send.data(), recv.data(), c.count, c.dtype, ReduceKind::kSum).ok());
    for (int64_t i = 0; i < c.count; ++i) {
      double want = 0;
      for (int s = 0; s < c.ranks; ++s) want += ValueOf(s, r * c.count + i);
      ASSERT_NEAR(Get(recv, i), want, c.dtype == DType::kBF16 ? 0.5 : 1e-3);
    }
  });
}

TEST_P(CommunicatorTest, BroadcastFromTheLastRank) {
  const Case c = GetParam();
  OnRanks(c.ranks, [&](int r, Communicator &comm) {
    Tensor t(c.dtype, {c.count});
    for (int64_t i = 0; i < c.count; ++i) Put(t, i, ValueOf(r, i));
    ASSERT_TRUE(comm.Broadcast(t.data(), c.count, c.dtype, c.ranks - 1).ok());
    Tensor want(c.dtype, {c.count});
    for (int64_t i = 0; i < c.count; ++i) Put(want, i, ValueOf(c.ranks - 1, i));
    for (int64_t i = 0; i < c.count; ++i) ASSERT_EQ(Get(t, i), Get(want, i));
  });
}

INSTANTIATE_TEST_SUITE_P(
    InProcess, CommunicatorTest,
    ::testing::Values(Case{1, 5, DType::kF32}, Case{2, 7, DType::kF32}, Case{3, 10, DType::kF32},
                      Case{4, 1, DType::kF32}, Case{8, 1001, DType::kF32}, Case{4, 13, DType::kBF16},
                      Case{3, 9, DType::kF16}, Case{4, 11, DType::kI32}, Case{5, 6, DType::kI64},
                      Case{2, 0, DType::kF32}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::to_string(info.param.ranks) + "ranks_" + std::to_string(info.param.count) + "_" +
             DTypeName(info.param.dtype);
    });

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

}  // namespace
}  // namespace weft

// The cuda-inprocess communicator: several ranks (threads) share GPU 0, each
// on its own stream, with device buffers.
//  - the Communicator conformance suite (tests/runtime/CommunicatorChecks.h,
//    shared with inprocess, mpi and nccl; HostStaged copies the checks' host
//    buffers to the GPU and back around each call);
//  - bit-identity: all-reduce and reduce-scatter of random values give, on
//    every rank, the very bytes the inprocess (CPU) communicator gives;
//  - the executor's pattern: virtual cuda::Devices on one GPU, a collective
//    on each one's comm stream after its compute stream's work;
//  - errors: host memory refused, a missing rank times out, Abort releases.
// All skip without a GPU, saying why, except the factory's argument checks,
// which need none.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "../runtime/CommunicatorChecks.h"
#include "HostStaged.h"
#include "RequireGpu.h"
#include "runtime/collectives/cuda_inprocess.h"
#include "runtime/cuda/backend.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"

namespace weft {
namespace {

using namespace conformance;
using Group = std::vector<std::unique_ptr<DeviceCommunicator>>;

Group MakeGroup(int n, double timeout_s = 120) {
  auto group = CreateCudaInProcessGroup(n, /*device=*/0, {}, timeout_s);
  EXPECT_TRUE(group.ok()) << group.status();
  return group.ok() ? std::move(*group) : Group();
}

// Runs `body(rank, comm)` on one thread per rank, each through HostStaged.
void OnRanks(Group &group, const std::function<void(int, Communicator &)> &body) {
  std::vector<std::thread> threads;
  for (size_t r = 0; r < group.size(); ++r)
    threads.emplace_back([&, r] {
      HostStaged staged(*group[r]);
      body(static_cast<int>(r), staged);
    });
  for (auto &t : threads) t.join();
}

TEST(CudaInProcessGroup, RefusesBadArgumentsAndSaysWhyWithoutAGpu) {
  EXPECT_TRUE(absl::IsInvalidArgument(CreateCudaInProcessGroup(0, 0).status()));
  const absl::Status streams = CreateCudaInProcessGroup(3, 0, {nullptr, nullptr}).status();
  EXPECT_TRUE(absl::IsInvalidArgument(streams)) << streams;
  EXPECT_NE(std::string(streams.message()).find("2 streams for a group of 3 ranks"), std::string::npos)
      << streams;
  const absl::StatusOr<int> gpus = cuda::CountGpus();
  const absl::Status made = CreateCudaInProcessGroup(2, gpus.ok() ? *gpus : 0).status();
  if (!gpus.ok()) {
    EXPECT_EQ(made, gpus.status());  // "no CUDA GPU: ..." in one line
  } else {
    EXPECT_TRUE(absl::IsInvalidArgument(made)) << made;
    EXPECT_NE(std::string(made.message()).find("no GPU " + std::to_string(*gpus)), std::string::npos)
        << made;
  }
}

class CudaInProcessConformance : public ::testing::TestWithParam<int> {};

TEST_P(CudaInProcessConformance, EveryCollectiveEveryDtype) {
  const int ranks = GetParam();
  WEFT_REQUIRE_GPUS(1);
  Group group = MakeGroup(ranks);
  ASSERT_EQ(static_cast<int>(group.size()), ranks);
  for (auto [count, dtype] : std::vector<std::pair<int64_t, DType>>{
           {1, DType::kF32}, {7, DType::kF32}, {1001, DType::kF32}, {1 << 20, DType::kF32},
           {13, DType::kBF16}, {9, DType::kF16}, {11, DType::kI32}, {6, DType::kI64},
           {0, DType::kF32}}) {
    const Case c{ranks, count, dtype};
    SCOPED_TRACE(CaseName(c));
    OnRanks(group, [&](int r, Communicator &comm) {
      CheckAllReduce(r, comm, c);
      CheckAllGather(r, comm, c);
      CheckReduceScatter(r, comm, c);
      CheckBroadcast(r, comm, c);
      CheckAllToAll(r, comm, c);
      CheckSendRecvRing(r, comm, c);  // buffered sends: a ring needs no ordering
      CheckSendRecvChain(r, comm, c);
      ASSERT_TRUE(comm.Barrier().ok());
    });
  }
  OnRanks(group, [&](int r, Communicator &comm) { CheckSendsDoNotWait(r, comm); });
}

INSTANTIATE_TEST_SUITE_P(Ranks, CudaInProcessConformance, ::testing::Values(1, 2, 3, 4, 8),
                         [](const ::testing::TestParamInfo<int> &info) {
                           return std::to_string(info.param) + "ranks";
                         });

// Every rank's bytes after `op`, run on one thread per rank of `comms` with
// rank r's host input `inputs[r]` and an output of `out_bytes`.
using Op = std::function<absl::Status(Communicator &, const void *, void *)>;
std::vector<std::vector<char>> RunOnEveryRank(const std::vector<Communicator *> &comms,
                                   const std::vector<std::vector<char>> &inputs, size_t out_bytes,
                                   const Op &op) {
  std::vector<std::vector<char>> out(comms.size(), std::vector<char>(out_bytes));
  std::vector<std::thread> threads;
  for (size_t r = 0; r < comms.size(); ++r)
    threads.emplace_back([&, r] {
      const absl::Status s = op(*comms[r], inputs[r].data(), out[r].data());
      EXPECT_TRUE(s.ok()) << "rank " << r << ": " << s;
    });
  for (auto &t : threads) t.join();
  return out;
}

// Random values of `dtype` (normal floats, rounded to it), as bytes.
std::vector<char> RandomBytes(DType dtype, int64_t n, std::mt19937 &rng) {
  Tensor t(dtype, {n});
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t i = 0; i < n; ++i)
    Put(t, i, dtype == DType::kI32 ? std::floor(normal(rng) * 1000) : normal(rng));
  const char *p = static_cast<const char *>(t.data());
  return std::vector<char>(p, p + n * DTypeSize(dtype));
}

TEST(CudaInProcessBitIdentity, ReductionsGiveTheInProcessCommunicatorsBytesOnEveryRank) {
  WEFT_REQUIRE_GPUS(1);
  std::mt19937 rng(7);
  for (int ranks : {3, 8}) {
    Group gpu = MakeGroup(ranks);
    ASSERT_EQ(static_cast<int>(gpu.size()), ranks);
    std::vector<std::unique_ptr<HostStaged>> staged;
    std::vector<Communicator *> on_gpu;
    for (auto &c : gpu) {
      staged.push_back(std::make_unique<HostStaged>(*c));
      on_gpu.push_back(staged.back().get());
    }
    auto cpu = CreateInProcessGroup(ranks);
    std::vector<Communicator *> on_cpu;
    for (auto &c : cpu) on_cpu.push_back(c.get());
    const int64_t count = 4099;  // per slice: not a multiple of the ranks or of a warp
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32}) {
      std::vector<std::vector<char>> inputs;
      for (int r = 0; r < ranks; ++r) inputs.push_back(RandomBytes(dtype, count * ranks, rng));
      const size_t es = DTypeSize(dtype);
      for (ReduceKind kind :
           {ReduceKind::kSum, ReduceKind::kAverage, ReduceKind::kMax, ReduceKind::kMin}) {
        if (kind == ReduceKind::kAverage && dtype == DType::kI32) continue;
        SCOPED_TRACE(std::to_string(ranks) + " ranks, " + DTypeName(dtype) + ", kind " +
                     std::to_string(static_cast<int>(kind)));
        const Op all_reduce = [&](Communicator &c, const void *in, void *out) {
          return c.AllReduce(in, out, count * ranks, dtype, kind);
        };
        const Op reduce_scatter = [&](Communicator &c, const void *in, void *out) {
          return c.ReduceScatter(in, out, count, dtype, kind);
        };
        const auto want_all = RunOnEveryRank(on_cpu, inputs, count * ranks * es, all_reduce);
        const auto got_all = RunOnEveryRank(on_gpu, inputs, count * ranks * es, all_reduce);
        const auto want_scatter = RunOnEveryRank(on_cpu, inputs, count * es, reduce_scatter);
        const auto got_scatter = RunOnEveryRank(on_gpu, inputs, count * es, reduce_scatter);
        for (int r = 0; r < ranks; ++r) {
          EXPECT_EQ(want_all[r], want_all[0]) << "the CPU ranks differ";
          EXPECT_TRUE(got_all[r] == want_all[r]) << "all-reduce, rank " << r;
          EXPECT_TRUE(got_scatter[r] == want_scatter[r]) << "reduce-scatter, rank " << r;
        }
      }
    }
  }
}

// The executor's pattern on virtual devices: each rank's kernel output on
// its compute stream feeds an in-place all-reduce on its comm stream,
// ordered by the device's event, and the compute stream reads the result.
TEST(CudaInProcessOnDevices, VirtualDevicesReduceWhatTheirComputeStreamsWrote) {
  WEFT_REQUIRE_GPUS(1);
  const int n = 4;
  const int64_t count = (int64_t{16} << 20) / 4;
  std::vector<std::unique_ptr<cuda::Device>> devices;
  std::vector<cudaStream_t> streams;
  for (int r = 0; r < n; ++r) {
    auto dev = cuda::Device::Create(0, count * 4);
    ASSERT_TRUE(dev.ok()) << dev.status();
    streams.push_back((*dev)->comm_stream());
    devices.push_back(std::move(*dev));
  }
  auto group = CreateCudaInProcessGroup(n, 0, streams, /*timeout_s=*/120);
  ASSERT_TRUE(group.ok()) << group.status();
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      cuda::Device &dev = *devices[r];
      DeviceCommunicator &comm = *(*group)[r];
      EXPECT_EQ(comm.stream(), dev.comm_stream());
      EXPECT_EQ(comm.device(), 0);
      ASSERT_TRUE(dev.MakeCurrent().ok());
      int32_t *buf = static_cast<int32_t *>(*dev.ArenaAt(0, count * 4));
      for (int round = 1; round <= 3; ++round) {
        // Bytes r + round: the int32 (r + round) * 0x01010101.
        ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(buf, r + round, count * 4, dev.compute_stream())).ok());
        ASSERT_TRUE(dev.CommWaitsForCompute().ok());
        ASSERT_TRUE(comm.AllReduce(buf, buf, count, DType::kI32, ReduceKind::kSum).ok());
        ASSERT_TRUE(dev.ComputeWaitsForComm().ok());
        int32_t first = 0, last = 0;
        ASSERT_TRUE(dev.CopyToHost(&first, buf, 4).ok());
        ASSERT_TRUE(dev.CopyToHost(&last, buf + count - 1, 4).ok());
        int32_t want = 0;
        for (int s = 0; s < n; ++s) want += (s + round) * 0x01010101;
        EXPECT_EQ(first, want) << "rank " << r << " round " << round;
        EXPECT_EQ(last, want) << "rank " << r << " round " << round;
      }
    });
  for (auto &t : threads) t.join();
}

TEST(CudaInProcessErrors, HostMemoryIsRefusedAndTheGroupAborted) {
  WEFT_REQUIRE_GPUS(1);
  Group group = MakeGroup(2);
  ASSERT_EQ(group.size(), 2u);
  DeviceBuffer device_buf(64);
  std::vector<float> host(16, 1.0f);
  std::vector<absl::Status> got(2);
  std::thread other([&] {
    got[1] = group[1]->AllReduce(device_buf.get(), device_buf.get(), 16, DType::kF32, ReduceKind::kSum);
  });
  got[0] = group[0]->AllReduce(host.data(), host.data(), 16, DType::kF32, ReduceKind::kSum);
  other.join();
  EXPECT_TRUE(absl::IsInvalidArgument(got[0])) << got[0];
  EXPECT_NE(std::string(got[0].message()).find("is host memory, not device memory on the group's GPU 0"),
            std::string::npos)
      << got[0];
  EXPECT_TRUE(absl::IsAborted(got[1])) << got[1];
  EXPECT_NE(std::string(got[1].message()).find("rank 0 failed"), std::string::npos) << got[1];
}

TEST(CudaInProcessErrors, MismatchedCountsAreAnErrorOnEveryRank) {
  WEFT_REQUIRE_GPUS(1);
  Group group = MakeGroup(3);
  ASSERT_EQ(group.size(), 3u);
  OnRanks(group, [&](int r, Communicator &comm) {
    std::vector<float> buf(8, 1.0f);
    const absl::Status s =
        comm.AllReduce(buf.data(), buf.data(), r == 1 ? 8 : 4, DType::kF32, ReduceKind::kSum);
    EXPECT_NE(std::string(s.message()).find("collective size mismatch"), std::string::npos) << s;
  });
}

// A rank that never comes: the other gives up after the timeout, saying so.
TEST(CudaInProcessErrors, AMissingRankTimesOut) {
  WEFT_REQUIRE_GPUS(1);
  Group group = MakeGroup(2, /*timeout_s=*/1.0);
  ASSERT_EQ(group.size(), 2u);
  HostStaged staged(*group[0]);
  float x = 1;
  const absl::Status s = staged.AllReduce(&x, &x, 1, DType::kF32, ReduceKind::kSum);
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_NE(std::string(s.message()).find("for ranks that never came"), std::string::npos) << s;
  EXPECT_TRUE(absl::IsAborted(group[1]->Barrier()));  // the group is dead
}

TEST(CudaInProcessErrors, AbortReleasesAWaitingReceiveWithTheReason) {
  WEFT_REQUIRE_GPUS(1);
  Group group = MakeGroup(2);
  ASSERT_EQ(group.size(), 2u);
  DeviceBuffer buf(4);
  absl::Status got;
  std::thread waiting([&] { got = group[1]->Recv(buf.get(), 1, DType::kF32, 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  group[0]->Abort("rank 0 failed: embedding index 999 out of range");
  waiting.join();
  EXPECT_TRUE(absl::IsAborted(got)) << got;
  EXPECT_TRUE(absl::IsAborted(group[1]->Barrier()));
  const absl::Status s = group[0]->Barrier();
  EXPECT_NE(std::string(s.message()).find("embedding index 999"), std::string::npos) << s;
}

}  // namespace
}  // namespace weft

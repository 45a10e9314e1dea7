// The CUDA device object (runtime/cuda/device.h): its arena, its bounds, and
// the event ordering between its compute and communication streams.
#include <gtest/gtest.h>

#include <vector>

#include "RequireGpu.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"
#include "runtime/poison.h"

namespace weft::cuda {
namespace {

TEST(CudaDevice, ArenaIsAllocatedAndBoundsChecked) {
  WEFT_REQUIRE_GPUS(1);
  auto d = Device::Create(0, 1 << 20);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->arena_bytes(), 1 << 20);
  EXPECT_TRUE((*d)->ArenaAt(0, 1 << 20).ok());
  EXPECT_TRUE((*d)->ArenaAt((1 << 20) - 4, 4).ok());
  EXPECT_EQ((*d)->ArenaAt((1 << 20) - 4, 8).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*d)->ArenaAt(-1, 4).status().code(), absl::StatusCode::kOutOfRange);
  // Poisoned as the CPU backend's arena is, when the tests ask for it.
  if (PoisonMemory()) {
    std::vector<uint8_t> host(4096, 0);
    ASSERT_TRUE((*d)->CopyToHost(host.data(), *(*d)->ArenaAt(12345, 4096), 4096).ok());
    for (uint8_t b : host) ASSERT_EQ(b, 0xFF);
  }
}

TEST(CudaDevice, ArenaThatDoesNotFitSaysSo) {
  WEFT_REQUIRE_GPUS(1);
  auto d = Device::Create(0, int64_t{1} << 50);  // 1 PiB
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kResourceExhausted) << d.status();
  EXPECT_NE(std::string(d.status().message()).find("does not fit on GPU 0"), std::string::npos);
}

TEST(CudaDevice, NoSuchGpu) {
  WEFT_REQUIRE_GPUS(1);
  auto d = Device::Create(4096, 16);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(std::string(d.status().message()).find("cudaSetDevice(ordinal) failed"), std::string::npos)
      << d.status();
}

// A large fill on the compute stream, then a copy of its last bytes on the
// communication stream: with the event between them the copy sees the fill.
// Repeated with fresh values so that a lucky ordering cannot pass it.
TEST(CudaDevice, CommStreamWaitsForCompute) {
  WEFT_REQUIRE_GPUS(1);
  const int64_t bytes = int64_t{256} << 20;
  auto d = Device::Create(0, 2 * bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  Device &dev = **d;
  char *a = static_cast<char *>(*dev.ArenaAt(0, bytes));
  char *b = static_cast<char *>(*dev.ArenaAt(bytes, bytes));
  for (int round = 1; round <= 8; ++round) {
    ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemsetAsync(a, round, bytes, dev.compute_stream())).ok());
    ASSERT_TRUE(dev.CommWaitsForCompute().ok());
    ASSERT_TRUE(WEFT_CUDA_STATUS(cudaMemcpyAsync(b, a + bytes - 4096, 4096,
                                                 cudaMemcpyDeviceToDevice, dev.comm_stream()))
                    .ok());
    ASSERT_TRUE(dev.ComputeWaitsForComm().ok());
    std::vector<char> host(4096);
    ASSERT_TRUE(dev.CopyToHost(host.data(), b, 4096).ok());  // on compute: after the copy
    for (char c : host) ASSERT_EQ(c, round) << "round " << round;
  }
  ASSERT_TRUE(dev.Synchronize().ok());
}

TEST(CudaDevice, CopiesRoundTrip) {
  WEFT_REQUIRE_GPUS(1);
  auto d = Device::Create(0, 1 << 16);
  ASSERT_TRUE(d.ok()) << d.status();
  std::vector<float> in(1000), out(1000, -1.0f);
  for (int i = 0; i < 1000; ++i) in[i] = 0.5f * i - 7;
  void *p = *(*d)->ArenaAt(4096, 4000);
  ASSERT_TRUE((*d)->CopyToDevice(p, in.data(), 4000).ok());
  ASSERT_TRUE((*d)->CopyToHost(out.data(), p, 4000).ok());
  EXPECT_EQ(in, out);
}

}  // namespace
}  // namespace weft::cuda

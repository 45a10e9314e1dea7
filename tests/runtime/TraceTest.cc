// The trace recorder and the gathering of every process's events to one
// file (runtime/executor/trace.h, chrome_trace.h). GatherEvents is what MPI
// runs; here its communicator is the in-process one, the same interface.
#include <gtest/gtest.h>

#include <thread>

#include "runtime/executor/chrome_trace.h"
#include "runtime/executor/clock_sync.h"
#include "runtime/executor/trace.h"

namespace weft::trace {
namespace {

// Rank r's k-th event, recognisable from its fields alone.
Event Made(int r, int k) {
  Event e;
  e.rank = r;
  e.instruction = k;
  e.start_ns = 1000 * r + k;
  e.duration_ns = 7 * k + 1;
  e.step = k % 3;
  e.track = k % 2 ? Track::kComm : Track::kCompute;
  e.category = k % 2 ? Category::kCollective : Category::kKernel;
  return e;
}

TEST(Trace, GatherGivesEveryRankEveryonesEventsInRankOrder) {
  // Uneven counts, one rank with none: the lists are padded to the longest.
  const std::vector<int> counts = {3, 0, 11, 1};
  const int n = static_cast<int>(counts.size());
  auto group = CreateInProcessGroup(n);
  std::vector<std::vector<Event>> got(n);
  std::vector<absl::Status> status(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      std::vector<Event> mine;
      for (int k = 0; k < counts[r]; ++k) mine.push_back(Made(r, k));
      auto all = GatherEvents(*group[r], mine);
      status[r] = all.status();
      if (all.ok()) got[r] = *all;
    });
  for (auto &t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(status[r].ok()) << status[r];
    size_t i = 0;
    for (int from = 0; from < n; ++from)
      for (int k = 0; k < counts[from]; ++k, ++i) {
        ASSERT_LT(i, got[r].size());
        const Event want = Made(from, k), &e = got[r][i];
        EXPECT_EQ(e.rank, want.rank);
        EXPECT_EQ(e.instruction, want.instruction);
        EXPECT_EQ(e.start_ns, want.start_ns);
        EXPECT_EQ(e.duration_ns, want.duration_ns);
        EXPECT_EQ(e.step, want.step);
        EXPECT_EQ(e.track, want.track);
        EXPECT_EQ(e.category, want.category);
      }
    EXPECT_EQ(got[r].size(), i);
  }
}

TEST(Trace, AlignedNowIsOneInstantOnEveryMember) {
  // Threads share one clock, so every member's answer must be process 0's
  // to within the error it reports (half a round trip of a message between
  // threads), and a time between the call's start and end.
  const int n = 4;
  auto group = CreateInProcessGroup(n);
  std::vector<int64_t> now(n);
  std::vector<absl::Status> status(n);
  std::vector<int64_t> error;
  const int64_t before = SteadyNowNs();
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      auto t = AlignedNow(*group[r]);
      status[r] = t.status();
      if (t.ok()) now[r] = t->now;
      if (t.ok() && r == 0) error = t->error_ns;
    });
  for (auto &t : threads) t.join();
  const int64_t after = SteadyNowNs();
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(status[r].ok()) << status[r];
    EXPECT_GE(now[r], before);
    EXPECT_LE(now[r], after);
    // The bound it reports holds (1 ns for the rounding of (a + c) / 2).
    ASSERT_EQ(error.size(), static_cast<size_t>(n));
    EXPECT_LE(std::abs(now[r] - now[0]), error[r] + 1)
        << "rank " << r << " is off by " << now[r] - now[0] << " ns";
  }
}

TEST(Trace, RecorderNumbersStepsKeepsEventsWhenStoppedAndDropsThemWhenRestarted) {
  TraceRecorder rec;
  EXPECT_FALSE(rec.on());
  rec.Start(SteadyNowNs());
  const int64_t a = rec.Now();
  rec.Record(2, 0, Track::kCompute, Category::kKernel, a, a + 5);
  rec.EndStep();
  rec.Record(2, 1, Track::kComm, Category::kP2P, a + 5, a + 9);
  ASSERT_EQ(rec.events().size(), 2u);
  EXPECT_EQ(rec.events()[0].step, 0);
  EXPECT_EQ(rec.events()[1].step, 1);
  EXPECT_EQ(rec.events()[1].duration_ns, 4);
  EXPECT_GE(a, 0);
  rec.Stop();
  EXPECT_FALSE(rec.on());
  EXPECT_EQ(rec.events().size(), 2u);  // stopping keeps them
  rec.Start(SteadyNowNs());
  EXPECT_TRUE(rec.events().empty());
  EXPECT_EQ(rec.step(), 0);
}

TEST(Trace, CpuPlacesCollectivesMessagesAndCopiesOnTheirTracks) {
  EXPECT_EQ(CpuPlacement(fb::Opcode::AllReduce), std::make_pair(Track::kComm, Category::kCollective));
  EXPECT_EQ(CpuPlacement(fb::Opcode::Recv), std::make_pair(Track::kComm, Category::kP2P));
  EXPECT_EQ(CpuPlacement(fb::Opcode::Copy), std::make_pair(Track::kCopy, Category::kCopy));
  EXPECT_EQ(CpuPlacement(fb::Opcode::Matmul), std::make_pair(Track::kCompute, Category::kKernel));
}

}  // namespace
}  // namespace weft::trace

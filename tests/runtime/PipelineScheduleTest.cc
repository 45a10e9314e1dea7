// The pipeline schedule core: the lists of GPipe, 1F1B and interleaved 1F1B,
// the checker, and the simulated bubble and in-flight activations. Expected
// values come from the published formulas or are worked out by hand here.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/pipeline/render.h"
#include "runtime/pipeline/schedule.h"
#include "runtime/pipeline/simulate.h"

namespace weft::pipeline {
namespace {

using ::testing::HasSubstr;

Schedule Build(ScheduleKind kind, int P, int M, int V = 1, double f = 1, double b = 2) {
  ScheduleOptions o;
  o.kind = kind;
  o.stages = P;
  o.microbatches = M;
  o.virtual_stages = V;
  o.forward_cost = f;
  o.backward_cost = b;
  absl::StatusOr<Schedule> s = BuildSchedule(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

Simulation SimulateOk(const Schedule &s, const Costs &c, SendMode mode = SendMode::kBlocking) {
  absl::StatusOr<Simulation> sim = Simulate(s, c, mode);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return sim.ok() ? *sim : Simulation{};
}

// The forwards and backwards of one rank, in list order: "F0 F1 B0 ...".
std::string ComputeOrder(const Schedule &s, int rank) {
  std::string out;
  for (const Instruction &i : s.ranks[rank])
    if (IsCompute(i.kind)) out += (out.empty() ? "" : " ") + InstructionName(i, s.options.virtual_stages);
  return out;
}

struct Ratio {
  double f, b;
};
const Ratio kRatios[] = {{1, 2}, {1, 1}, {1, 3}, {2, 3}};

// Equal stage costs, no latency: GPipe and 1F1B idle (P-1)(f+b) per rank
// out of (M+P-1)(f+b), with blocking or buffered sends alike.
TEST(PipelineSchedule, BubbleOfGPipeAnd1F1B) {
  for (ScheduleKind kind : {ScheduleKind::kGPipe, ScheduleKind::k1F1B})
    for (int P : {1, 2, 3, 4, 8})
      for (int M : {1, 2, 4, 7, 8, 16})
        for (const Ratio &r : kRatios)
          for (SendMode mode : {SendMode::kBlocking, SendMode::kBuffered}) {
            SCOPED_TRACE(testing::Message() << ScheduleKindName(kind) << " P=" << P << " M=" << M
                                            << " f=" << r.f << " b=" << r.b
                                            << " buffered=" << (mode == SendMode::kBuffered));
            const Simulation sim = SimulateOk(Build(kind, P, M, 1, r.f, r.b), {r.f, r.b, 0, 0}, mode);
            EXPECT_NEAR(sim.bubble_fraction, double(P - 1) / (M + P - 1), 1e-12);
            EXPECT_NEAR(sim.makespan, (M + P - 1) * (r.f + r.b), 1e-9);
          }
}

// Interleaved with V chunks of equal cost: (P-1)/(V*M+P-1) with buffered
// sends (the sends of consecutive chunks overlap compute). Blocking sends
// can only add idle time, never deadlock.
TEST(PipelineSchedule, BubbleOfInterleaved) {
  for (int P : {2, 3, 4, 8})
    for (int groups : {1, 2, 3})
      for (int V : {2, 3, 4})
        for (const Ratio &r : kRatios) {
          const int M = groups * P;
          SCOPED_TRACE(testing::Message() << "P=" << P << " M=" << M << " V=" << V << " f=" << r.f
                                          << " b=" << r.b);
          const Schedule s = Build(ScheduleKind::kInterleaved, P, M, V, r.f, r.b);
          const double expected = double(P - 1) / (V * M + P - 1);
          EXPECT_NEAR(SimulateOk(s, {r.f, r.b, 0, 0}, SendMode::kBuffered).bubble_fraction, expected, 1e-12);
          EXPECT_GE(SimulateOk(s, {r.f, r.b, 0, 0}, SendMode::kBlocking).bubble_fraction, expected - 1e-12);
        }
}

TEST(PipelineSchedule, PeakActivations) {
  for (int P : {1, 2, 4, 5})
    for (int M : {1, 3, 4, 8, 16}) {
      SCOPED_TRACE(testing::Message() << "P=" << P << " M=" << M);
      const Simulation gpipe = SimulateOk(Build(ScheduleKind::kGPipe, P, M), {});
      const Simulation one = SimulateOk(Build(ScheduleKind::k1F1B, P, M), {});
      for (int r = 0; r < P; ++r) {
        EXPECT_EQ(gpipe.peak_activations[r], M) << "rank " << r;
        // Warm-up P-1-r forwards and one more in the steady phase.
        EXPECT_EQ(one.peak_activations[r], std::min(P - r, M)) << "rank " << r;
        EXPECT_LE(one.peak_activations[r], P);
      }
    }
  // Interleaved (Megatron): warm-up 2(P-r-1) + (V-1)P forwards (all of
  // them when M = P), plus one.
  for (int P : {2, 4})
    for (int M : {P, 2 * P, 4 * P})
      for (int V : {2, 3}) {
        const Simulation sim = SimulateOk(Build(ScheduleKind::kInterleaved, P, M, V), {});
        for (int r = 0; r < P; ++r) {
          const int warmup = M == P ? M * V : std::min(2 * (P - r - 1) + (V - 1) * P, M * V);
          EXPECT_EQ(sim.peak_activations[r], std::min(warmup + 1, M * V))
              << "P=" << P << " M=" << M << " V=" << V << " rank " << r;
        }
      }
}

TEST(PipelineSchedule, ComputeOrders) {
  const Schedule gpipe = Build(ScheduleKind::kGPipe, 2, 3);
  EXPECT_EQ(ComputeOrder(gpipe, 0), "F0 F1 F2 B0 B1 B2");
  EXPECT_EQ(ComputeOrder(gpipe, 1), "F0 F1 F2 B0 B1 B2");
  // 1F1B, P=4: warm-up 3, 2, 1, 0 forwards.
  const Schedule one = Build(ScheduleKind::k1F1B, 4, 8);
  EXPECT_EQ(ComputeOrder(one, 0), "F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7");
  EXPECT_EQ(ComputeOrder(one, 3), "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 F6 B6 F7 B7");
  // Interleaved P=2, M=4, V=2, by hand from Megatron's rules: rank 0 warms up
  // with 2(P-1) + (V-1)P = 4 forwards; forward k runs microbatch
  // (k / PV) P + k % P on chunk (k % PV) / P, backwards the chunks reversed.
  const Schedule inter = Build(ScheduleKind::kInterleaved, 2, 4, 2);
  EXPECT_EQ(ComputeOrder(inter, 0),
            "F0.0 F1.0 F0.1 F1.1 F2.0 B0.1 F3.0 B1.1 F2.1 B0.0 F3.1 B1.0 B2.1 B3.1 B2.0 B3.0");
  EXPECT_EQ(ComputeOrder(inter, 1),
            "F0.0 F1.0 F0.1 B0.1 F1.1 B1.1 F2.0 B0.0 F3.0 B1.0 F2.1 B2.1 F3.1 B3.1 B2.0 B3.0");
  // Every list ends with the optimizer step.
  for (const Schedule *s : {&gpipe, &one, &inter})
    for (const auto &list : s->ranks) EXPECT_EQ(list.back().kind, OpKind::kOptimizerStep);
}

// P=2, M=3, 1F1B, f=1, b=2, by hand: rank 1 runs F0 at 1, B0 at 2-4; rank 0
// waits for that gradient until 4.
TEST(PipelineSchedule, Timeline) {
  const Schedule s = Build(ScheduleKind::k1F1B, 2, 3);
  const Simulation sim = SimulateOk(s, {1, 2, 0, 0});
  std::vector<std::vector<std::pair<double, double>>> got(2);
  for (int r = 0; r < 2; ++r)
    for (size_t i = 0; i < s.ranks[r].size(); ++i)
      if (IsCompute(s.ranks[r][i].kind)) got[r].push_back({sim.timeline[r][i].start, sim.timeline[r][i].end});
  using P = std::pair<double, double>;
  EXPECT_EQ(got[0], (std::vector<P>{{0, 1}, {1, 2}, {4, 6}, {6, 7}, {7, 9}, {10, 12}}));
  EXPECT_EQ(got[1], (std::vector<P>{{1, 2}, {2, 4}, {4, 5}, {5, 7}, {7, 8}, {8, 10}}));
  EXPECT_EQ(sim.makespan, 12);
  EXPECT_EQ(sim.busy[0], 9);
  EXPECT_DOUBLE_EQ(sim.bubble_fraction, 6.0 / 24);
}

// Latency c is paid on each hop: P=2, M=1 is F0, hop, F0, B0, hop, B0.
TEST(PipelineSchedule, Latency) {
  for (SendMode mode : {SendMode::kBlocking, SendMode::kBuffered}) {
    const Simulation sim = SimulateOk(Build(ScheduleKind::kGPipe, 2, 1), {1, 2, 0.5, 0.25}, mode);
    EXPECT_DOUBLE_EQ(sim.makespan, 1 + 0.5 + 1 + 2 + 0.5 + 2 + 0.25);
  }
}

// Hand-written lists for P=2, M=2, 1F1B, the sends placed naively: each
// rank sends first and receives after. Rank 0 blocks sending mb1's
// activation while rank 1 blocks sending mb0's gradient.
Schedule Naive1F1B() {
  Schedule s;
  s.options = {ScheduleKind::k1F1B, 2, 2, 1};
  using K = OpKind;
  s.ranks = {{{K::kForward, 0, 0, -1},
              {K::kSendActivation, 0, 0, 1},
              {K::kForward, 1, 0, -1},
              {K::kSendActivation, 1, 0, 1},
              {K::kRecvGradient, 0, 0, 1},
              {K::kBackward, 0, 0, -1},
              {K::kRecvGradient, 1, 0, 1},
              {K::kBackward, 1, 0, -1},
              {K::kOptimizerStep, -1, -1, -1}},
             {{K::kRecvActivation, 0, 0, 0},
              {K::kForward, 0, 0, -1},
              {K::kBackward, 0, 0, -1},
              {K::kSendGradient, 0, 0, 0},
              {K::kRecvActivation, 1, 0, 0},
              {K::kForward, 1, 0, -1},
              {K::kBackward, 1, 0, -1},
              {K::kSendGradient, 1, 0, 0},
              {K::kOptimizerStep, -1, -1, -1}}};
  return s;
}

TEST(PipelineChecker, BlockingSendsDeadlock) {
  const Schedule s = Naive1F1B();
  absl::StatusOr<Simulation> sim = Simulate(s, {});
  ASSERT_FALSE(sim.ok());
  EXPECT_THAT(sim.status().message(), HasSubstr("deadlocks"));
  EXPECT_THAT(sim.status().message(),
              HasSubstr("rank 0, instruction 3 'send act mb1 -> rank 1' waits for rank 1 to post "
                        "'recv act mb1 <- rank 0', but rank 1 is blocked at instruction 3 "
                        "'send grad mb0 -> rank 0'"));
  EXPECT_THAT(sim.status().message(),
              HasSubstr("rank 1, instruction 3 'send grad mb0 -> rank 0' waits for rank 0 to post "
                        "'recv grad mb0 <- rank 1'"));
  // With buffered sends the same lists do run: the check models the block.
  EXPECT_TRUE(Simulate(s, {}, SendMode::kBuffered).ok());
  // Receiving first on rank 1 fixes it.
  Schedule fixed = s;
  std::swap(fixed.ranks[1][3], fixed.ranks[1][4]);
  EXPECT_TRUE(Simulate(fixed, {}).ok());
}

TEST(PipelineChecker, MissingSend) {
  Schedule s = Naive1F1B();
  std::swap(s.ranks[1][3], s.ranks[1][4]);
  s.ranks[0].erase(s.ranks[0].begin() + 3);  // rank 0 never sends mb1's activation
  absl::StatusOr<Simulation> sim = Simulate(s, {}, SendMode::kBuffered);
  ASSERT_FALSE(sim.ok());
  EXPECT_THAT(sim.status().message(),
              HasSubstr("rank 1, instruction 3 'recv act mb1 <- rank 0' waits for rank 0 to post "
                        "'send act mb1 -> rank 1', which rank 0 never posts"));
}

TEST(PipelineChecker, ReceivesInTheWrongOrder) {
  Schedule s;
  s.options = {ScheduleKind::kGPipe, 2, 2, 1};
  using K = OpKind;
  s.ranks = {{{K::kForward, 0, 0, -1}, {K::kForward, 1, 0, -1}, {K::kSendActivation, 0, 0, 1},
              {K::kSendActivation, 1, 0, 1}, {K::kRecvGradient, 0, 0, 1}, {K::kBackward, 0, 0, -1},
              {K::kRecvGradient, 1, 0, 1}, {K::kBackward, 1, 0, -1}, {K::kOptimizerStep, -1, -1, -1}},
             {{K::kRecvActivation, 1, 0, 0}, {K::kRecvActivation, 0, 0, 0}, {K::kForward, 0, 0, -1},
              {K::kForward, 1, 0, -1}, {K::kBackward, 0, 0, -1}, {K::kSendGradient, 0, 0, 0},
              {K::kBackward, 1, 0, -1}, {K::kSendGradient, 1, 0, 0}, {K::kOptimizerStep, -1, -1, -1}}};
  absl::StatusOr<Simulation> sim = Simulate(s, {});
  ASSERT_FALSE(sim.ok());
  EXPECT_THAT(sim.status().message(),
              HasSubstr("rank 0, instruction 2 'send act mb0 -> rank 1' waits for rank 1 to post "
                        "'recv act mb0 <- rank 0', but rank 1 is blocked at instruction 0 "
                        "'recv act mb1 <- rank 0'"));
  // In the right order it runs.
  std::swap(s.ranks[1][0], s.ranks[1][1]);
  EXPECT_TRUE(Simulate(s, {}).ok());
}

TEST(PipelineChecker, LocalErrors) {
  {  // A forward before its activation arrives.
    Schedule s = Naive1F1B();
    std::swap(s.ranks[1][0], s.ranks[1][1]);
    absl::StatusOr<Simulation> sim = Simulate(s, {});
    ASSERT_FALSE(sim.ok());
    EXPECT_THAT(sim.status().message(),
                HasSubstr("rank 1, instruction 0 'F0': runs before its activation is received from rank 0"));
  }
  {  // A send to the wrong peer.
    Schedule s = Naive1F1B();
    s.ranks[0][1].peer = 0;
    absl::StatusOr<Simulation> sim = Simulate(s, {});
    ASSERT_FALSE(sim.ok());
    EXPECT_THAT(sim.status().message(), HasSubstr("rank 0, instruction 1 'send act mb0 -> rank 0': stage 1 is on rank 1"));
  }
  {  // The last stage has no one to send its activation to.
    Schedule s = Naive1F1B();
    s.ranks[1].insert(s.ranks[1].begin() + 2, {OpKind::kSendActivation, 0, 0, 0});
    absl::StatusOr<Simulation> sim = Simulate(s, {});
    ASSERT_FALSE(sim.ok());
    EXPECT_THAT(sim.status().message(), HasSubstr("stage 1 has no next stage"));
  }
  {  // A backward lost: the optimizer step comes too early.
    Schedule s = Naive1F1B();
    std::swap(s.ranks[1][3], s.ranks[1][4]);
    s.ranks[0].erase(s.ranks[0].begin() + 7);
    absl::StatusOr<Simulation> sim = Simulate(s, {});
    ASSERT_FALSE(sim.ok());
    EXPECT_THAT(sim.status().message(),
                HasSubstr("rank 0, instruction 7 'optimizer step': runs before all 2 backwards have run (1 have)"));
  }
  {  // A duplicate.
    Schedule s = Naive1F1B();
    s.ranks[0].insert(s.ranks[0].begin() + 1, {OpKind::kForward, 0, 0, -1});
    absl::StatusOr<Simulation> sim = Simulate(s, {});
    ASSERT_FALSE(sim.ok());
    EXPECT_THAT(sim.status().message(), HasSubstr("rank 0, instruction 1 'F0': repeats instruction 0"));
  }
}

TEST(PipelineSchedule, BadOptions) {
  const auto error = [](ScheduleKind kind, int P, int M, int V) {
    ScheduleOptions o;
    o.kind = kind;
    o.stages = P;
    o.microbatches = M;
    o.virtual_stages = V;
    absl::StatusOr<Schedule> s = BuildSchedule(o);
    return s.ok() ? std::string("ok") : std::string(s.status().message());
  };
  EXPECT_THAT(error(ScheduleKind::kInterleaved, 4, 6, 2),
              HasSubstr("microbatches (6) to be a multiple of the stages (4)"));
  EXPECT_THAT(error(ScheduleKind::kInterleaved, 4, 8, 1), HasSubstr("at least 2 virtual stages"));
  EXPECT_THAT(error(ScheduleKind::k1F1B, 4, 8, 2), HasSubstr("need the interleaved schedule"));
  EXPECT_THAT(error(ScheduleKind::kGPipe, 0, 8, 1), HasSubstr("stages must be >= 1"));
  EXPECT_THAT(std::string(ParseScheduleKind("zb").status().message()),
              HasSubstr("expected gpipe, 1f1b or interleaved"));
  EXPECT_EQ(*ParseScheduleKind("interleaved"), ScheduleKind::kInterleaved);
}

// Every generated list passes the blocking check, one chunk per rank or many.
TEST(PipelineSchedule, GeneratedListsPassTheCheck) {
  for (int P : {1, 2, 3, 5})
    for (int M : {P, 2 * P, 3 * P + (P > 1 ? 0 : 1)}) {
      for (ScheduleKind kind : {ScheduleKind::kGPipe, ScheduleKind::k1F1B})
        EXPECT_TRUE(Simulate(Build(kind, P, M), {1, 1, 0.3, 0}).ok()) << P << " " << M;
      for (int V : {2, 3})
        EXPECT_TRUE(Simulate(Build(ScheduleKind::kInterleaved, P, M, V), {1, 3, 0.1, 0}).ok())
            << P << " " << M << " " << V;
    }
}

TEST(PipelineRender, TextAndSvg) {
  const Schedule s = Build(ScheduleKind::k1F1B, 4, 8);
  const Simulation sim = SimulateOk(s, {});
  const std::string text = RenderText(s, sim, {});
  EXPECT_THAT(text, HasSubstr("rank 0: F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7 | peak activations 4"));
  EXPECT_THAT(text, HasSubstr("rank 3: F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 F6 B6 F7 B7 | peak activations 1"));
  // 3/11 = 0.2727...
  EXPECT_THAT(text, HasSubstr("bubble fraction 0.2727"));
  const std::string svg = RenderSvg(s, sim, {});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(svg, HasSubstr("1F1B schedule: P=4 stages, M=8 microbatches - bubble fraction 27.3%"));
  // One box with a tooltip per forward and backward: 2 * P * M.
  size_t boxes = 0;
  for (size_t at = svg.find("<title>rank"); at != std::string::npos; at = svg.find("<title>rank", at + 1))
    ++boxes;
  EXPECT_EQ(boxes, 2u * 4 * 8);
  EXPECT_THAT(svg, HasSubstr(">mb 7</text>"));
}

}  // namespace
}  // namespace weft::pipeline

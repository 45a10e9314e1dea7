// The resharding planner's choices on a 2 x 2 grid against costs worked out
// by hand (ring model, bytes sent per device). The tensor is [4, 8] f32:
// 128 bytes whole. That the plans move the right data is tests/e2e/test_reshard.py.
#include "passes/partition/Reshard.h"

#include <gtest/gtest.h>

using namespace mlir::weft::reshard;

namespace {

const std::vector<int64_t> kGrid = {2, 2};

Sharding parse(const char *text, int64_t rank = 2) {
  auto s = Sharding::parse(text, 2, rank);
  if (!s) {
    ADD_FAILURE() << llvm::toString(s.takeError());
    return {};
  }
  return *s;
}

Plan plan(const char *from, const char *to, std::vector<int64_t> shape = {4, 8}) {
  auto p = planReshard(shape, 4, kGrid, parse(from), parse(to));
  if (!p) {
    ADD_FAILURE() << from << " -> " << to << ": " << llvm::toString(p.takeError());
    return {};
  }
  return *p;
}

std::string kinds(const Plan &p) {
  std::string out;
  for (const Step &s : p.steps)
    out += (out.empty() ? "" : " ") + kindName(s.kind).str() + "@" + std::to_string(s.gridAxis);
  return out;
}

std::string planError(const char *from, const char *to, std::vector<int64_t> shape) {
  auto p = planReshard(shape, 4, kGrid, parse(from), parse(to));
  return p ? "" : llvm::toString(p.takeError());
}

TEST(ReshardPlan, MovingASplitToAnotherDimIsOneAllToAll) {
  // Not all_gather (64 B) + all_slice: an all-to-all sends half the local 64 B.
  Plan p = plan("R,S1", "R,S0");
  EXPECT_EQ(kinds(p), "all_to_all@1");
  EXPECT_EQ(p.steps[0].dim, 0);
  EXPECT_EQ(p.steps[0].concatDim, 1);
  EXPECT_DOUBLE_EQ(p.bytes, 32);
  EXPECT_EQ(kinds(plan("S1,R", "S0,R")), "all_to_all@0");
}

TEST(ReshardPlan, PartialToSplitIsOneReduceScatter) {
  Plan p = plan("R,P", "R,S0");
  EXPECT_EQ(kinds(p), "reduce_scatter@1");
  EXPECT_EQ(p.steps[0].dim, 0);
  EXPECT_DOUBLE_EQ(p.bytes, 64);  // half of the 128 B it reduces
}

TEST(ReshardPlan, PartialToReplicatedIsOneAllReduce) {
  // reduce_scatter + all_gather costs the same 128 B in two steps.
  Plan p = plan("R,P", "R,R");
  EXPECT_EQ(kinds(p), "all_reduce@1");
  EXPECT_DOUBLE_EQ(p.bytes, 128);
}

TEST(ReshardPlan, PartialOnBothAxesReducesScattersFirst) {
  // Two all-reduces cost 256 B; reduce-scatter on one axis (64 B), all-reduce
  // the half on the other (64 B) and all-gather back (64 B) cost 192 B.
  Plan p = plan("P,P", "R,R");
  EXPECT_DOUBLE_EQ(p.bytes, 192);
  EXPECT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps.front().kind, Kind::ReduceScatter);
  EXPECT_EQ(p.steps.back().kind, Kind::AllGather);
}

TEST(ReshardPlan, GatherAndSliceCostTheGatheredHalfAndNothing) {
  Plan gather = plan("S0,R", "R,R");
  EXPECT_EQ(kinds(gather), "all_gather@0");
  EXPECT_DOUBLE_EQ(gather.bytes, 64);
  Plan slice = plan("R,R", "S1,S0");
  EXPECT_EQ(kinds(slice), "all_slice@0 all_slice@1");
  EXPECT_DOUBLE_EQ(slice.bytes, 0);
  EXPECT_TRUE(plan("S0,S1", "S0,S1").steps.empty());
}

TEST(ReshardPlan, SlicesBeforeItReducesToSendLess) {
  // Slicing on tp first (free) halves what the dp reduce-scatter sends:
  // 32 B instead of 64 B.
  Plan p = plan("P,R", "S1,S0");
  EXPECT_EQ(kinds(p), "all_slice@1 reduce_scatter@0");
  EXPECT_DOUBLE_EQ(p.bytes, 32);
}

TEST(ReshardPlan, BothAxesOnOneDimMoveTheMinorAxisFirst) {
  // S0,S0: dim 0 over axes (0, 1), axis 1 minor, so only axis 1 can leave it
  // first. Gathering both and slicing costs 32 + 64 = 96 B; moving axis 1 to
  // dim 1 (an all-to-all of the 32 B block: 16 B), gathering axis 0 (32 B)
  // and moving axis 1 back (half of 64 B: 32 B) costs 80 B.
  Plan p = plan("S0,S0", "R,S0");
  EXPECT_EQ(kinds(p), "all_to_all@1 all_gather@0 all_to_all@1");
  EXPECT_DOUBLE_EQ(p.bytes, 80);
}

TEST(ReshardPlan, SplitsThatDoNotDivideAreErrors) {
  EXPECT_NE(planError("R,R", "S0,S0", {6, 4}).find("does not divide"), std::string::npos)
      << planError("R,R", "S0,S0", {6, 4});
  EXPECT_NE(planError("S1,S1", "R,R", {4, 6}).find("dimension 1 (size 6) into 4 blocks"),
            std::string::npos);
}

TEST(ReshardPlan, NothingCreatesAPartialSum) {
  EXPECT_NE(planError("R,R", "P,R", {4, 8}).find("never create a partial sum"), std::string::npos);
}

TEST(ReshardPlan, ParseNamesTheBadAxis) {
  auto bad = Sharding::parse("S2,R", 2, 2);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("mesh axis 0 is 'S2'"), std::string::npos);
  auto few = Sharding::parse("R", 2, 2);
  ASSERT_FALSE(static_cast<bool>(few));
  EXPECT_NE(llvm::toString(few.takeError()).find("names 1 mesh axes; the grid has 2"),
            std::string::npos);
}

} // namespace

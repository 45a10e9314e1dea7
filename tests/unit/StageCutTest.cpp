// The pipeline stage cutter against cuts derived by hand and against a
// brute force over every contiguous cut.
#include "TestUtil.h"

#include "compiler/pipeline/StageCut.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"

#include <algorithm>
#include <functional>
#include <tuple>

using namespace mlir;
using namespace mlir::weft;

namespace {

using Starts = std::vector<int64_t>;

TEST(BalanceCuts, EqualLayersSplitEvenly) {
  EXPECT_EQ(balanceCuts({1, 1, 1, 1, 1, 1, 1, 1}, 4), (Starts{0, 2, 4, 6}));
  EXPECT_EQ(balanceCuts({1, 1, 1, 1, 1, 1}, 6), (Starts{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(balanceCuts({1, 1, 1}, 1), (Starts{0}));
}

// A head of 0.5 on the last layer: 2,2,2,2 has a max of 2.5; any cut with a
// 3-layer stage has 3. The head does not take a layer away.
TEST(BalanceCuts, LightHeadKeepsTwoLayersPerStage) {
  EXPECT_EQ(balanceCuts({1, 1, 1, 1, 1, 1, 1, 1.5}, 4), (Starts{0, 2, 4, 6}));
}

// A head of 2.5: the last layer alone costs 3.5, and 2,2,2,2 would cost 4.5.
// The 7 other layers in 3 stages of at most 3.5 are 3+2+2 in some order
// (squares 17) or 3+3+1 (squares 19); among the three orders of 3+2+2 the
// later stage takes the extra layer: 2,2,3,1.
TEST(BalanceCuts, HeavyHeadGetsALayerLess) {
  EXPECT_EQ(balanceCuts({1, 1, 1, 1, 1, 1, 1, 3.5}, 4), (Starts{0, 2, 4, 7}));
}

// The bottleneck first, then the sum of squares: {4, 1, 1, 1, 1} in 2 is
// 4 | 4 (max 4), not 4+1 | 3.
TEST(BalanceCuts, MinimisesTheBottleneck) {
  EXPECT_EQ(balanceCuts({4, 1, 1, 1, 1}, 2), (Starts{0, 1}));
  EXPECT_EQ(balanceCuts({1, 1, 1, 1, 4}, 2), (Starts{0, 4}));
}

TEST(ManualStages, ParsesAPartition) {
  std::string error;
  EXPECT_EQ(parseManualStages("0-3,4-6,7", 8, 3, error), (Starts{0, 4, 7})) << error;
  EXPECT_FALSE(parseManualStages("0-3,5-7", 8, 2, error));
  EXPECT_NE(error.find("block 4 is in no stage"), std::string::npos) << error;
  EXPECT_FALSE(parseManualStages("0-4,4-7", 8, 2, error));
  EXPECT_NE(error.find("overlap at block 4"), std::string::npos) << error;
  EXPECT_FALSE(parseManualStages("0-3,4-8", 8, 2, error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(parseManualStages("0-7", 8, 2, error));
  EXPECT_NE(error.find("lists 1 stages but the pipeline has 2"), std::string::npos) << error;
}

class StageCutGpt : public weft_test::WeftTest {
protected:
  // Per-block, prologue and epilogue times of a generated GPT, computed
  // here from the ops' FLOPs and bytes with the documented constants.
  struct Costs {
    std::vector<double> block;
    double prologue = 0, epilogue = 0;
  };
  Costs costsOf(func::FuncOp fn) {
    Costs c;
    bool seenBlock = false;
    for (Operation &op : fn.getBody().front().without_terminator()) {
      double t = 0;
      if (auto cost = llvm::dyn_cast<CostOpInterface>(&op))
        t = std::max(cost.getFlops() / 1e12, cost.getBytesAccessed() / 1e11);
      if (auto tag = op.getAttrOfType<IntegerAttr>("weft.block")) {
        seenBlock = true;
        if (static_cast<int64_t>(c.block.size()) <= tag.getInt())
          c.block.resize(tag.getInt() + 1, 0);
        c.block[tag.getInt()] += t;
      } else {
        (seenBlock ? c.epilogue : c.prologue) += t;
      }
    }
    return c;
  }

  // Every way of cutting n blocks into s contiguous non-empty stages: the
  // least max, then the least sum of squares, then later stages larger.
  static Starts bruteForce(const std::vector<double> &units, int64_t s) {
    const int64_t n = units.size();
    std::tuple<double, double, std::vector<int64_t>> best{1e300, 1e300, {}};
    Starts starts{0};
    std::function<void(int64_t)> go = [&](int64_t from) {
      if (static_cast<int64_t>(starts.size()) == s) {
        std::vector<double> stage(s, 0);
        for (int64_t k = 0; k < s; ++k)
          for (int64_t b = starts[k]; b < (k + 1 < s ? starts[k + 1] : n); ++b)
            stage[k] += units[b];
        double mx = *std::max_element(stage.begin(), stage.end()), sq = 0;
        for (double x : stage)
          sq += x * x;
        // Later stages larger: reversed sizes compared lexicographically.
        std::vector<int64_t> sizes;
        for (int64_t k = s - 1; k >= 0; --k)
          sizes.push_back(-((k + 1 < s ? starts[k + 1] : n) - starts[k]));
        auto &[bm, bs, bz] = best;
        bool better = mx < bm * (1 - 1e-9) ||
                      (mx <= bm * (1 + 1e-9) &&
                       (sq < bs * (1 - 1e-9) || (sq <= bs * (1 + 1e-9) && sizes < bz)));
        if (better) {
          best = {mx, sq, sizes};
          bestStarts = starts;
        }
        return;
      }
      for (int64_t b = from + 1; b <= n - (s - static_cast<int64_t>(starts.size())); ++b) {
        starts.push_back(b);
        go(b);
        starts.pop_back();
      }
    };
    bestStarts.clear();
    go(0);
    return bestStarts;
  }
  static inline Starts bestStarts;

  StagePlan cut(int64_t vocab, Costs &costs) {
    ModelSpec spec;
    spec.kind = "gpt";
    spec.layers = 8;
    spec.vocab = vocab;
    std::string error;
    auto generated = generateModel(&ctx, spec, error);
    EXPECT_TRUE(succeeded(generated)) << error;
    module = std::move(*generated);
    func::FuncOp fn = getForward(*module);
    costs = costsOf(fn);
    FailureOr<StagePlan> plan = cutStages(fn, 4);
    EXPECT_TRUE(succeeded(plan)) << allDiagnostics();
    return *plan;
  }
  static Starts startsOf(const StagePlan &p) {
    Starts s;
    for (const Stage &st : p.stages)
      s.push_back(st.firstBlock);
    return s;
  }
  OwningOpRef<ModuleOp> module;
};

// The default GPT (hidden 64, vocab 128): 8 equal layers of time c, an
// embedding e and a head h both below c. Two layers a stage cost at most
// 2c + max(e, h); any cut with a 3-layer stage costs 3c > that: 2,2,2,2.
TEST_F(StageCutGpt, SmallVocabularyTwoLayersPerStage) {
  Costs c;
  StagePlan plan = cut(128, c);
  ASSERT_EQ(c.block.size(), 8u);
  for (double b : c.block)
    EXPECT_NEAR(b, c.block[0], 1e-12);
  ASSERT_LT(c.epilogue, c.block[0]);
  ASSERT_LT(c.prologue, c.block[0]);
  EXPECT_EQ(startsOf(plan), (Starts{0, 2, 4, 6}));
  EXPECT_TRUE(plan.stages[0].prologue && plan.stages[3].epilogue);
  // The stage times are the sums worked out above.
  EXPECT_NEAR(plan.stages[0].time, 2 * c.block[0] + c.prologue, 1e-12);
  EXPECT_NEAR(plan.stages[3].time, 2 * c.block[0] + c.epilogue, 1e-12);
  std::vector<double> units = c.block;
  units.front() += c.prologue;
  units.back() += c.epilogue;
  EXPECT_EQ(startsOf(plan), bruteForce(units, 4));
}

// vocab 4096: the head h exceeds a layer c. The last stage holds layer 7
// and the head at least, c + h, which beats 2c + h; the other 7 layers fit
// under it in 3 stages (3c + e < c + h, asserted), as 2,2,3 (squares: the
// embedding on the smaller first stage, then ties go to the later stage).
TEST_F(StageCutGpt, LargeVocabularyLastStageGetsOneLayer) {
  Costs c;
  StagePlan plan = cut(4096, c);
  const double layer = c.block[0];
  ASSERT_GT(c.epilogue, layer);
  ASSERT_LT(3 * layer + c.prologue, layer + c.epilogue);
  EXPECT_EQ(startsOf(plan), (Starts{0, 2, 4, 7}));
  EXPECT_NEAR(plan.maxTime(), layer + c.epilogue, 1e-12);
  std::vector<double> units = c.block;
  units.front() += c.prologue;
  units.back() += c.epilogue;
  EXPECT_EQ(startsOf(plan), bruteForce(units, 4));
  // Activations: each stage but the last sends one [8, 32, 64] f32 tensor.
  for (int s = 0; s < 3; ++s)
    EXPECT_EQ(plan.stages[s].sendBytes, 8 * 32 * 64 * 4) << "stage " << s;
  EXPECT_EQ(plan.stages[3].sendBytes, 0);
}

} // namespace

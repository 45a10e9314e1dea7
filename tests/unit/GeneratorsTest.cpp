// The generated models: each verifies, and each parameter count matches a
// closed form written out here from the architecture (and, for GPT-2 small,
// the published 124,439,808 with the LM head tied to wte).
#include "TestUtil.h"

#include "compiler/cost/ModelStats.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "frontends/models/Generators.h"

#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

class GeneratorsTest : public weft_test::WeftTest {
protected:
  int64_t paramsOf(const ModelSpec &spec) {
    std::string error;
    auto module = generateModel(&ctx, spec, error);
    EXPECT_TRUE(succeeded(module)) << error;
    if (failed(module))
      return -1;
    EXPECT_TRUE(succeeded(verify(**module))) << allDiagnostics();
    EXPECT_TRUE(succeeded(verifyModel(**module))) << allDiagnostics();
    return computeModelStats(getForward(**module)).paramCount;
  }
};

TEST_F(GeneratorsTest, Gpt2SmallHasThePublishedParameterCount) {
  ModelSpec s;
  s.kind = "gpt";
  s.layers = 12;
  s.hidden = 768;
  s.heads = 12;
  s.vocab = 50257;
  s.seq = 1024;
  s.batch = 1;
  EXPECT_EQ(paramsOf(s), 124439808);
}

TEST_F(GeneratorsTest, GptMatchesItsClosedForm) {
  ModelSpec s{"gpt", 3, 32, 4, 40, 12, 2, 48};
  int64_t d = 32, f = 48, l = 3, v = 40, t = 12;
  int64_t perLayer = 2 * d + 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d);
  EXPECT_EQ(paramsOf(s), v * d + t * d + l * perLayer + 2 * d);
}

TEST_F(GeneratorsTest, BertMatchesItsClosedForm) {
  ModelSpec s{"bert", 2, 16, 2, 24, 8, 2, 0};
  int64_t d = 16, f = 64, l = 2, v = 24, t = 8;
  int64_t perLayer = 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d) + 2 * d;
  int64_t head = (d * d + d) + 2 * d + v;
  EXPECT_EQ(paramsOf(s), v * d + t * d + 2 * d + l * perLayer + head);
}

TEST_F(GeneratorsTest, LstmMatchesItsClosedForm) {
  ModelSpec s;
  s.kind = "lstm";
  s.layers = 2;
  s.hidden = 8;
  s.vocab = 24;
  s.seq = 4;
  int64_t h = 8, v = 24;
  EXPECT_EQ(paramsOf(s), v * h + 2 * (2 * h * 4 * h + 4 * h) + h * v + v);
}

TEST_F(GeneratorsTest, MlpMatchesItsClosedForm) {
  ModelSpec s;
  s.kind = "mlp";
  s.layers = 3;
  s.hidden = 10;
  s.features = 7;
  s.classes = 5;
  EXPECT_EQ(paramsOf(s), (7 * 10 + 10) + 2 * (10 * 10 + 10) + (10 * 5 + 5));
}

TEST_F(GeneratorsTest, BadSpecsAreRefusedWithAReason) {
  std::string error;
  ModelSpec s;
  s.kind = "gpt";
  s.hidden = 30;
  s.heads = 4;
  EXPECT_TRUE(failed(generateModel(&ctx, s, error)));
  EXPECT_EQ(error, "--hidden=30 is not divisible by --heads=4");
  s.kind = "transformer";
  EXPECT_TRUE(failed(generateModel(&ctx, s, error)));
  EXPECT_NE(error.find("unknown model kind 'transformer'"), std::string::npos);
  s.kind = "mlp";
  s.layers = 0;
  EXPECT_TRUE(failed(generateModel(&ctx, s, error)));
  EXPECT_EQ(error, "--layers must be positive, got 0");
}

} // namespace

// FLOP and byte counts against the formulas worked out by hand.
#include "TestUtil.h"

#include "compiler/cost/ModelStats.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftDialect.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

class CostTest : public weft_test::WeftTest {
protected:
  // The one op of a function body, parsed from `body`.
  template <typename OpT> OpT only(const std::string &text) {
    module = parse(text);
    EXPECT_TRUE(module) << allDiagnostics();
    OpT found;
    module->walk([&](OpT op) { found = op; });
    return found;
  }
  OwningOpRef<ModuleOp> module;
};

TEST_F(CostTest, MatmulIsTwoMNKPerBatch) {
  auto op = only<MatmulOp>(R"mlir(
    func.func @f(%a: tensor<3x4x8xf32>, %b: tensor<8x16xf32>) -> tensor<3x4x16xf32> {
      %0 = weft.matmul %a, %b : (tensor<3x4x8xf32>, tensor<8x16xf32>) -> tensor<3x4x16xf32>
      return %0 : tensor<3x4x16xf32>
    })mlir");
  EXPECT_EQ(op.getFlops(), 2 * 3 * 4 * 16 * 8);
  EXPECT_EQ(op.getBytesAccessed(), 4 * (3 * 4 * 8 + 8 * 16 + 3 * 4 * 16));
}

TEST_F(CostTest, MatmulWithTransposedLhsContractsOverItsRows) {
  auto op = only<MatmulOp>(R"mlir(
    func.func @f(%a: tensor<8x4xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
      %0 = weft.matmul %a, %b {transpose_a = true} : (tensor<8x4xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
      return %0 : tensor<4x16xf32>
    })mlir");
  EXPECT_EQ(op.getFlops(), 2 * 4 * 16 * 8);
}

TEST_F(CostTest, AttentionCountsBothProductsAndTheSoftmax) {
  auto op = only<AttentionOp>(R"mlir(
    func.func @f(%q: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
      %0 = weft.attention %q, %q, %q {causal = true} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
      return %0 : tensor<2x4x8x16xf32>
    })mlir");
  int64_t scores = 2 * 4 * 8 * 8;
  EXPECT_EQ(op.getFlops(), 2 * scores * 16 + 5 * scores + 2 * scores * 16);
}

TEST_F(CostTest, Bf16HalvesTheBytes) {
  auto op = only<AddOp>(R"mlir(
    func.func @f(%a: tensor<4x8xbf16>) -> tensor<4x8xbf16> {
      %0 = weft.add %a, %a : tensor<4x8xbf16>
      return %0 : tensor<4x8xbf16>
    })mlir");
  EXPECT_EQ(op.getFlops(), 32);
  EXPECT_EQ(op.getBytesAccessed(), 3 * 32 * 2);
}

TEST_F(CostTest, EmbeddingReadsOnlyTheRowsItGathers) {
  auto op = only<EmbeddingOp>(R"mlir(
    func.func @f(%t: tensor<50000x64xf32>, %ids: tensor<2x5xi32>) -> tensor<2x5x64xf32> {
      %0 = weft.embedding %t, %ids : (tensor<50000x64xf32>, tensor<2x5xi32>) -> tensor<2x5x64xf32>
      return %0 : tensor<2x5x64xf32>
    })mlir");
  EXPECT_EQ(op.getFlops(), 0);
  EXPECT_EQ(op.getBytesAccessed(), 10 * 4 + 2 * 10 * 64 * 4);
}

TEST_F(CostTest, ModelStatsSumTheForwardFunction) {
  module = parse(R"mlir(
    func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"},
                       %w: tensor<4x8xf32> {weft.param = "w", weft.init = {dist = "zeros"}},
                       %y: tensor<2xi32> {weft.input = "y"})
        -> (tensor<f32> {weft.output = "loss", weft.loss}) {
      %0 = weft.matmul %x, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
      %1 = weft.relu %0 : tensor<2x8xf32>
      %2 = weft.cross_entropy %1, %y : (tensor<2x8xf32>, tensor<2xi32>) -> tensor<f32>
      return %2 : tensor<f32>
    })mlir");
  ASSERT_TRUE(module) << allDiagnostics();
  ModelStats s = computeModelStats(getForward(*module));
  EXPECT_EQ(s.paramCount, 32);
  EXPECT_EQ(s.paramBytes, 128);
  EXPECT_EQ(s.ops, 3);
  EXPECT_EQ(s.forwardFlops, 2 * 2 * 8 * 4 + 16 + 5 * 16);
  EXPECT_EQ(s.loss, "loss");
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[1].name, "y");
  EXPECT_EQ(s.inputs[1].type, "tensor<2xi32>");
}

} // namespace

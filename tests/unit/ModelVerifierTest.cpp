// The model contract: each broken model gets its own message.
#include "TestUtil.h"

#include "dialects/weft/IR/ModelVerifier.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

class ModelVerifierTest : public weft_test::WeftTest {
protected:
  /// Parses `text` and runs verifyModel; true when both pass.
  bool accepts(const std::string &text) {
    auto module = parse(text);
    return module && succeeded(verifyModel(*module));
  }
};

TEST_F(ModelVerifierTest, AcceptsAWellFormedModel) {
  EXPECT_TRUE(accepts(R"mlir(
    func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"},
                       %w: tensor<4x4xf32> {weft.param = "w", weft.init = {dist = "uniform", low = -1.0 : f32, high = 1.0 : f32}})
        -> (tensor<2x4xf32> {weft.output = "y"}) {
      %0 = weft.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
      return %0 : tensor<2x4xf32>
    })mlir")) << allDiagnostics();
}

TEST_F(ModelVerifierTest, NeedsForward) {
  EXPECT_FALSE(accepts("func.func @main() { return }"));
  EXPECT_TRUE(sawDiagnostic("must hold 'func.func @forward'"));
}

TEST_F(ModelVerifierTest, EveryArgumentIsAnInputOrAParameter) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<2xf32>) -> (tensor<2xf32> {weft.output = "y"}) {
      return %x : tensor<2xf32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("argument #0 of @forward is neither an input nor a parameter"));
}

TEST_F(ModelVerifierTest, NamesAreUniqueAndTheFirstIsPointedAt) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<2xf32> {weft.input = "x"},
                       %w: tensor<2xf32> {weft.param = "x", weft.init = {dist = "ones"}})
        -> (tensor<2xf32> {weft.output = "y"}) {
      return %x : tensor<2xf32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("duplicate name 'x' for argument #1"));
  EXPECT_TRUE(sawDiagnostic("'x' was first declared here"));
}

TEST_F(ModelVerifierTest, AtMostOneLoss) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<2xf32> {weft.input = "x"}, %l: tensor<f32> {weft.param = "l", weft.init = {dist = "zeros"}})
        -> (tensor<f32> {weft.output = "a", weft.loss}, tensor<f32> {weft.output = "b", weft.loss}) {
      return %l, %l : tensor<f32>, tensor<f32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("2 results are marked 'weft.loss'"));
}

TEST_F(ModelVerifierTest, InputsHaveABatchDimension) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<f32> {weft.input = "x"}) -> (tensor<f32> {weft.output = "y"}) {
      return %x : tensor<f32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("inputs need a batch dimension"));
}

TEST_F(ModelVerifierTest, ResultsAreNamed) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<2xf32> {weft.input = "x"}) -> tensor<2xf32> {
      return %x : tensor<2xf32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("result #0 of @forward has no name"));
}

TEST_F(ModelVerifierTest, AParameterNeedsAnInit) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%w: tensor<2xf32> {weft.param = "w"}) -> (tensor<2xf32> {weft.output = "y"}) {
      return %w : tensor<2xf32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("parameter 'w' (argument #0) has no 'weft.init'"));
}

TEST_F(ModelVerifierTest, TheLossIsAScalar) {
  EXPECT_FALSE(accepts(R"mlir(
    func.func @forward(%x: tensor<2xf32> {weft.input = "x"}) -> (tensor<2xf32> {weft.output = "y", weft.loss}) {
      return %x : tensor<2xf32>
    })mlir"));
  EXPECT_TRUE(sawDiagnostic("the loss must be a scalar tensor<f32>"));
}

} // namespace

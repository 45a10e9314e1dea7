// weft-verify-model accepts a model that keeps the contract, and leaves it as is.
// RUN: weft-opt %s --weft-verify-model | FileCheck %s

// CHECK-LABEL: func.func @forward
// CHECK-SAME: {weft.input = "x"}
// CHECK-SAME: weft.param = "w"
// CHECK-SAME: weft.loss
// CHECK: weft.cross_entropy
func.func @forward(%x: tensor<8x4xf32> {weft.input = "x"},
                   %y: tensor<8xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "normal", std = 0.1 : f32}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}, tensor<8x3xf32> {weft.output = "logits"}) {
  %0 = weft.matmul %x, %w : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  %1 = weft.cross_entropy %0, %y : (tensor<8x3xf32>, tensor<8xi32>) -> tensor<f32>
  return %1, %0 : tensor<f32>, tensor<8x3xf32>
}

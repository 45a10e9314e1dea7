// RUN: not weft-opt %s --weft-autodiff --weft-optimizer="kind=adam" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not weft-opt %s --weft-optimizer 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not weft-opt %s --weft-autodiff --weft-optimizer="lr=0" 2>&1 | FileCheck %s --check-prefix=LR
// KIND: error: unknown optimizer 'adam'; expected sgd or adamw
// ORDER: error: weft-optimizer needs @train_step; run weft-autodiff first
// LR: error: the learning rate must be positive, got 0
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %y: tensor<2xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = weft.cross_entropy %0, %y : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// RUN: weft-opt %s --weft-autodiff --weft-optimizer="kind=adamw lr=0.003 weight-decay=0.1" | FileCheck %s --check-prefix=ADAMW
// RUN: weft-opt %s --weft-autodiff --weft-optimizer="kind=sgd lr=0.5 momentum=0.8 clip-norm=1.0" | FileCheck %s --check-prefix=SGD

// ADAMW-LABEL: func.func @train_step
// ADAMW-SAME: %arg2: tensor<4x3xf32> {weft.init = {dist = "zeros"}, weft.param = "w"}
// ADAMW-SAME: %arg3: tensor<f32> {weft.init = {dist = "zeros"}, weft.state = "optimizer.step"}
// ADAMW-SAME: %arg4: tensor<4x3xf32> {weft.init = {dist = "zeros"}, weft.state = "optimizer.m.w"}
// ADAMW-SAME: %arg5: tensor<4x3xf32> {weft.init = {dist = "zeros"}, weft.state = "optimizer.v.w"}
// ADAMW-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<f32> {weft.update = "optimizer.step"}, tensor<4x3xf32> {weft.update = "w"}, tensor<4x3xf32> {weft.update = "optimizer.m.w"}, tensor<4x3xf32> {weft.update = "optimizer.v.w"})
// ADAMW: %[[T:.*]] = weft.add %arg3, %{{.*}} : tensor<f32>
// ADAMW: %[[P:.*]], %[[M:.*]], %[[V:.*]] = weft.adamw_update %arg2, %{{.*}}, %arg4, %arg5, %[[T]] {beta1 = 0.899999976 : f32, beta2 = 9.990000e-01 : f32, eps = 9.99999993E-9 : f32, lr = 3.000000e-03 : f32, weight_decay = 1.000000e-01 : f32}
// ADAMW: return %{{.*}}, %[[T]], %[[P]], %[[M]], %[[V]]

// SGD-LABEL: func.func @train_step
// SGD-SAME: weft.state = "optimizer.momentum.w"
// The global norm: sum of squares, sqrt, min(1, clip / (norm + 1e-6)).
// SGD: weft.reduce "sum"
// SGD: weft.sqrt
// SGD: weft.min
// SGD: weft.sgd_update %arg2, %{{.*}}, %arg4, %{{.*}} {lr = 5.000000e-01 : f32, momentum = 8.000000e-01 : f32, weight_decay = 0.000000e+00 : f32}
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %y: tensor<2xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = weft.cross_entropy %0, %y : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %1 : tensor<f32>
}

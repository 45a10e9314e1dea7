// RUN: weft-opt %s --weft-autodiff=recompute=true | FileCheck %s
// RUN: weft-opt %s --weft-autodiff | FileCheck %s --check-prefix=SAVE

// With recompute, the block's tanh runs again after the loss's gradient and
// its gradient reads the recomputed value; the block input (%arg0 * w) and
// everything outside blocks are used as saved.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[T:.*]] = weft.tanh %{{.*}} {weft.block = 0 : i64}
// CHECK: weft.cross_entropy %[[T]]
// CHECK: weft.cross_entropy_grad
// CHECK: %[[RT:.*]] = weft.tanh %{{.*}} : tensor<2x3xf32>
// CHECK-NOT: weft.block
// CHECK: weft.tanh_grad %[[RT]],
// SAVE-LABEL: func.func @train_step
// SAVE: %[[T:.*]] = weft.tanh
// SAVE: weft.tanh_grad %[[T]],
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %y: tensor<2xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w {weft.block = 0 : i64} : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = weft.tanh %0 {weft.block = 0 : i64} : tensor<2x3xf32>
  %2 = weft.cross_entropy %1, %y : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %2 : tensor<f32>
}

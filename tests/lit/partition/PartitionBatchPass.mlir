// RUN: weft-opt %s --weft-partition-batch=dp=4 | FileCheck %s
// RUN: weft-opt %s --weft-partition-batch=dp=4 --weft-sync-gradients | FileCheck %s --check-prefix=SYNC

// The batch (8) becomes 2 per device; the weight stays whole; a broadcast
// bias and a splat constant that meet the batch get the local shape; the
// logits are gathered (global_shape) and the loss averaged.
// CHECK: shard.grid @mesh(shape = 4)
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg0: tensor<2x16xf32> {weft.global_shape = array<i64: 8, 16>, weft.input = "x"}
// CHECK-SAME: %arg2: tensor<16x4xf32> {weft.init
// CHECK-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<2x4xf32> {weft.global_shape = array<i64: 8, 4>, weft.output = "logits"})
// CHECK: weft.matmul %arg0, %arg2 : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
// CHECK: weft.broadcast_in_dim %arg3, dims = [1] : tensor<4xf32> -> tensor<2x4xf32>
// CHECK: weft.constant dense<1.000000e+00> : tensor<2x4xf32>
// CHECK: weft.slice %{{.*}}, start = [0, 0], limit = [2, 4]
// SYNC: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] reduction = average : tensor<f32> -> tensor<f32>
func.func @forward(%x: tensor<8x16xf32> {weft.input = "x"}, %y: tensor<8xi32> {weft.input = "y"},
                   %w: tensor<16x4xf32> {weft.param = "w", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %b: tensor<4xf32> {weft.param = "b", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}, tensor<8x4xf32> {weft.output = "logits"}) {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<4xf32> -> tensor<8x4xf32>
  %2 = weft.add %0, %1 : tensor<8x4xf32>
  %3 = weft.constant dense<1.0> : tensor<8x4xf32>
  %4 = weft.mul %2, %3 : tensor<8x4xf32>
  %5 = weft.slice %4, start = [0, 0], limit = [8, 4] : tensor<8x4xf32> -> tensor<8x4xf32>
  %6 = weft.cross_entropy %5, %y : (tensor<8x4xf32>, tensor<8xi32>) -> tensor<f32>
  return %6, %5 : tensor<f32>, tensor<8x4xf32>
}

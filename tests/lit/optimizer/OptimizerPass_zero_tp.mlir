// RUN: weft-opt %s --weft-partition-batch=dp=2 --weft-partition-tensor=tp=2 --weft-autodiff --weft-sync-gradients=zero=1 --weft-optimizer="kind=adamw zero=1 clip-norm=1.0" | FileCheck %s

// ZeRO-1 on dp=2 x tp=2: ZeRO divides each device's tp slice over dp (axis 0).
// w1 [8, 6] split by column is [8, 3] here, 24 elements: 12 per dp rank; w2
// [6, 4] by row is [3, 4], 6 per dp rank; b2 (4, replicated) 2 per rank; s (3)
// does not divide by 2 and keeps the plain all-reduce. The state of a tp-split
// parameter is both tp-split (split_dim, global shape) and ZeRO-split.
// CHECK: shard.grid @mesh(shape = 2x2)
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %arg7: tensor<12xf32> {weft.global_shape = array<i64: 8, 6>, weft.init = {dist = "zeros"}, weft.split_dim = 1 : i64, weft.state = "optimizer.m.w1", weft.zero_slice}
// CHECK-SAME: %arg9: tensor<6xf32> {weft.global_shape = array<i64: 6, 4>, weft.init = {dist = "zeros"}, weft.split_dim = 0 : i64, weft.state = "optimizer.m.w2", weft.zero_slice}
// CHECK-SAME: %arg11: tensor<2xf32> {weft.global_shape = array<i64: 4>, weft.init = {dist = "zeros"}, weft.state = "optimizer.m.b2", weft.zero_slice}
// CHECK-SAME: %arg13: tensor<3xf32> {weft.init = {dist = "zeros"}, weft.state = "optimizer.m.s"}
// CHECK: shard.reduce_scatter %{{.*}} on @mesh grid_axes = [0] reduction =  average scatter_axis = 0 : tensor<24xf32> -> tensor<12xf32>
// CHECK: shard.all_slice %{{.*}} on @mesh grid_axes = [0] slice_axis = 0 : tensor<24xf32> -> tensor<12xf32>
// CHECK: shard.reduce_scatter %{{.*}} on @mesh grid_axes = [0] reduction =  average scatter_axis = 0 : tensor<12xf32> -> tensor<6xf32>
// CHECK: shard.reduce_scatter %{{.*}} on @mesh grid_axes = [0] reduction =  average scatter_axis = 0 : tensor<4xf32> -> tensor<2xf32>
// CHECK: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] reduction =  average : tensor<3xf32> -> tensor<3xf32>
// Clipping: the squares of the w slices summed over dp then tp, of b2's over
// dp only, s's (replicated everywhere) counted once.
// CHECK: %[[W1SQ:.*]] = weft.reduce "sum" %{{.*}}, dims = [0] : tensor<12xf32> -> tensor<f32>
// CHECK: %[[W2SQ:.*]] = weft.reduce "sum" %{{.*}}, dims = [0] : tensor<6xf32> -> tensor<f32>
// CHECK: %[[WSQ:.*]] = weft.add %[[W1SQ]], %[[W2SQ]]
// CHECK: %[[BSQ:.*]] = weft.reduce "sum" %{{.*}}, dims = [0] : tensor<2xf32> -> tensor<f32>
// CHECK: %[[SSQ:.*]] = weft.reduce "sum" %{{.*}}, dims = [0] : tensor<3xf32> -> tensor<f32>
// CHECK: %[[WDP:.*]] = shard.all_reduce %[[WSQ]] on @mesh grid_axes = [0] : tensor<f32> -> tensor<f32>
// CHECK: %[[WTP:.*]] = shard.all_reduce %[[WDP]] on @mesh grid_axes = [1] : tensor<f32> -> tensor<f32>
// CHECK: %[[BDP:.*]] = shard.all_reduce %[[BSQ]] on @mesh grid_axes = [0] : tensor<f32> -> tensor<f32>
// CHECK: %[[REST:.*]] = weft.add %[[SSQ]], %[[BDP]]
// CHECK: %[[ALL:.*]] = weft.add %[[REST]], %[[WTP]]
// CHECK: weft.sqrt %[[ALL]]
// CHECK: weft.adamw_update %{{.*}} : (tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<12xf32>, tensor<f32>)
// CHECK: shard.all_gather %{{.*}} on @mesh grid_axes = [0] gather_axis = 0 : tensor<12xf32> -> tensor<24xf32>
// CHECK: weft.adamw_update %arg5, %{{.*}}, %arg13, %arg14

func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"}, %y: tensor<4xi32> {weft.input = "y"},
                   %w1: tensor<8x6xf32> {weft.param = "w1", weft.init = {dist = "zeros"}},
                   %w2: tensor<6x4xf32> {weft.param = "w2", weft.init = {dist = "zeros"}},
                   %b2: tensor<4xf32> {weft.param = "b2", weft.init = {dist = "zeros"}},
                   %s: tensor<3xf32> {weft.param = "s", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %1 = weft.relu %0 : tensor<4x6xf32>
  %2 = weft.matmul %1, %w2 : (tensor<4x6xf32>, tensor<6x4xf32>) -> tensor<4x4xf32>
  %3 = weft.broadcast_in_dim %b2, dims = [1] : tensor<4xf32> -> tensor<4x4xf32>
  %4 = weft.add %2, %3 : tensor<4x4xf32>
  %5 = weft.cross_entropy %4, %y : (tensor<4x4xf32>, tensor<4xi32>) -> tensor<f32>
  %6 = weft.reduce "sum" %s, dims = [0] : tensor<3xf32> -> tensor<f32>
  %7 = weft.mul %5, %6 : tensor<f32>
  return %7 : tensor<f32>
}

// RUN: weft-opt %s --weft-partition-batch=dp=2 --weft-autodiff --weft-sync-gradients=zero=1 --weft-optimizer="kind=adamw zero=1" | FileCheck %s

// ZeRO-1 over dp=2: w (4x3 = 12 elements) is updated as 6-element slices:
// the gradient is reduce-scattered, the parameter sliced, the state is the
// slice (saved whole in w's shape), and the new slices are all-gathered.
// b (3 elements) does not divide by 2 and keeps a plain all-reduce.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: tensor<6xf32> {weft.global_shape = array<i64: 4, 3>, weft.init = {dist = "zeros"}, weft.state = "optimizer.m.w", weft.zero_slice}
// CHECK-SAME: tensor<3xf32> {weft.init = {dist = "zeros"}, weft.state = "optimizer.m.b"}
// CHECK: %[[G:.*]] = shard.reduce_scatter %{{.*}} on @mesh grid_axes = [0] reduction = average scatter_axis = 0 : tensor<12xf32> -> tensor<6xf32>
// CHECK: %[[P:.*]] = shard.all_slice %{{.*}} on @mesh grid_axes = [0] slice_axis = 0 : tensor<12xf32> -> tensor<6xf32>
// Every gradient is synchronised before the updates (clipping needs them all).
// CHECK: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] reduction = average : tensor<3xf32> -> tensor<3xf32>
// CHECK: %[[NP:.*]], %{{.*}}, %{{.*}} = weft.adamw_update %[[P]], %[[G]]
// CHECK: shard.all_gather %[[NP]] on @mesh grid_axes = [0] gather_axis = 0 : tensor<6xf32> -> tensor<12xf32>
func.func @forward(%x: tensor<4x4xf32> {weft.input = "x"}, %y: tensor<4xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}},
                   %b: tensor<3xf32> {weft.param = "b", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w : (tensor<4x4xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<3xf32> -> tensor<4x3xf32>
  %2 = weft.add %0, %1 : tensor<4x3xf32>
  %3 = weft.cross_entropy %2, %y : (tensor<4x3xf32>, tensor<4xi32>) -> tensor<f32>
  return %3 : tensor<f32>
}

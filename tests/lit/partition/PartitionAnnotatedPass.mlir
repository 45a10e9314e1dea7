// RUN: weft-opt %s --weft-autodiff --weft-optimizer=kind=sgd --weft-partition-annotated="dp=2 tp=2" | FileCheck %s
// RUN: weft-opt %s --weft-partition-annotated="tp=2" | FileCheck %s --check-prefix=INFER

// User annotations, partitioned the GSPMD way: w1 is annotated by column
// (tp:1) and w2 by row (tp:0); the input is split on the batch over dp by
// default. Upstream sharding-propagation carries the splits through the
// forward, backward and optimizer ops of @train_step, and shard-partition
// gives local shapes: w1 [8, 16] -> [8, 8], w2 [16, 8] -> [8, 8], x [4, 8]
// -> [2, 8]. The row-parallel product is a partial sum over tp (an
// all-reduce over grid axis 1); the weights' gradients are partial sums over
// the batch (all-reduces over grid axis 0); the loss is averaged over dp.
// CHECK: shard.grid @mesh(shape = 2x2)
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %arg0: tensor<2x8xf32> {weft.global_shape = array<i64: 4, 8>, weft.input = "x"}
// CHECK-SAME: %arg1: tensor<8x8xf32> {weft.global_shape = array<i64: 8, 16>, {{.*}}weft.param = "w1", weft.sharding_reason = "annotation", weft.split_dim = 1 : i64}
// CHECK-SAME: %arg2: tensor<8x8xf32> {weft.global_shape = array<i64: 16, 8>, {{.*}}weft.param = "w2", weft.sharding_reason = "annotation", weft.split_dim = 0 : i64}
// CHECK: %[[P:.*]] = weft.matmul %{{.*}}, %arg2 : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
// CHECK: shard.all_reduce %[[P]] on @mesh grid_axes = [1]
// CHECK: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] reduction = average : tensor<f32>
// CHECK: weft.sgd_update %arg1
// CHECK: weft.sgd_update %arg2
// CHECK: return {{.*}} : tensor<f32>, tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>

// Inference on tp=2: only the annotated weights split, one all-reduce.
// INFER: shard.grid @mesh(shape = 2)
// INFER-LABEL: func.func @forward
// INFER-SAME: %arg0: tensor<4x8xf32> {weft.input = "x"}
// INFER-SAME: %arg1: tensor<8x8xf32>
// INFER: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] : tensor<4x8xf32>
// INFER-NOT: shard.all_reduce
func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"},
                   %w1: tensor<8x16xf32> {weft.param = "w1", weft.init = {dist = "normal", std = 0.1 : f32}, weft.sharding = "tp:1"},
                   %w2: tensor<16x8xf32> {weft.param = "w2", weft.init = {dist = "normal", std = 0.1 : f32}, weft.sharding = "tp:0"})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %h = weft.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = weft.gelu %h : tensor<4x16xf32>
  %y = weft.matmul %a, %w2 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %s = weft.mul %y, %y : tensor<4x8xf32>
  %m = weft.reduce "mean" %s, dims = [0, 1] : tensor<4x8xf32> -> tensor<f32>
  return %m : tensor<f32>
}

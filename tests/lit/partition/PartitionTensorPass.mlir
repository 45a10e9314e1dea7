// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 | FileCheck %s
// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 --weft-autodiff | FileCheck %s --check-prefix=GRAD

// Megatron's MLP: w1 by column, its bias with it, w2 by row; the input
// enters through tp_copy and one all-reduce sums the row-parallel products.
// The second bias and everything after stay replicated.
// CHECK: shard.grid @mesh(shape = 2)
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg2: tensor<8x8xf32> {weft.global_shape = array<i64: 8, 16>, {{.*}}weft.param = "w1", weft.split_dim = 1 : i64}
// CHECK-SAME: %arg3: tensor<8xf32> {weft.global_shape = array<i64: 16>, {{.*}}weft.param = "b1", weft.split_dim = 0 : i64}
// CHECK-SAME: %arg4: tensor<8x8xf32> {weft.global_shape = array<i64: 16, 8>, {{.*}}weft.param = "w2", weft.split_dim = 0 : i64}
// CHECK-SAME: %arg5: tensor<8xf32> {weft.init = {dist = "zeros"}, weft.param = "b2"}
// CHECK: %[[X:.*]] = weft.tp_copy %{{.*}} : tensor<4x8xf32>
// CHECK: weft.matmul %[[X]], %arg2 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.broadcast_in_dim %arg3, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
// CHECK: weft.gelu %{{.*}} : tensor<4x8xf32>
// CHECK: %[[P:.*]] = weft.matmul %{{.*}}, %arg4 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: %[[S:.*]] = shard.all_reduce %[[P]] on @mesh grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK: weft.add %[[S]], %{{.*}} : tensor<4x8xf32>
// The backward: the gradient of the replicated input is summed over tp
// (Megatron's f), the all-reduce's passes straight through (g).
// GRAD-LABEL: func.func @train_step
// GRAD: weft.matmul %{{.*}}, %arg4 {transpose_b = true}
// GRAD: %[[DX:.*]] = weft.matmul %{{.*}}, %arg2 {transpose_b = true}
// GRAD: shard.all_reduce %[[DX]] on @mesh grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
func.func @forward(%x0: tensor<4x8xf32> {weft.input = "x"},
                   %s: tensor<8xf32> {weft.param = "s", weft.init = {dist = "ones"}},
                   %w1: tensor<8x16xf32> {weft.param = "w1", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %b1: tensor<16xf32> {weft.param = "b1", weft.init = {dist = "zeros"}},
                   %w2: tensor<16x8xf32> {weft.param = "w2", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %b2: tensor<8xf32> {weft.param = "b2", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %sb = weft.broadcast_in_dim %s, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %x = weft.mul %x0, %sb : tensor<4x8xf32>
  %0 = weft.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = weft.broadcast_in_dim %b1, dims = [1] : tensor<16xf32> -> tensor<4x16xf32>
  %2 = weft.add %0, %1 : tensor<4x16xf32>
  %3 = weft.gelu %2 : tensor<4x16xf32>
  %4 = weft.matmul %3, %w2 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %5 = weft.broadcast_in_dim %b2, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %6 = weft.add %4, %5 : tensor<4x8xf32>
  %7 = weft.reduce "mean" %6, dims = [0, 1] : tensor<4x8xf32> -> tensor<f32>
  return %7 : tensor<f32>
}

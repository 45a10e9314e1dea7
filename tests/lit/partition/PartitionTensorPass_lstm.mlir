// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 | FileCheck %s
// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 --weft-autodiff | FileCheck %s --check-prefix=GRAD
// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 --weft-autodiff --weft-lower-tp-gather | FileCheck %s --check-prefix=LOWER

// An LSTM LM (1 layer, H = 4, 2 steps; weftc --generate=lstm): each device
// owns H/tp = 2 hidden units of every gate. W_ih, W_hh [4, 16] and the bias
// [16] are split per gate (split_groups = 4) to [4, 8] and [8]; the gates are
// [2, 8] locally and the slices i, f, g, o take [0:2], [2:4], [4:6], [6:8];
// c0 shrinks to [2, 2] (h0 stays [2, 4], it meets W_hh whole); each h is
// gathered to [2, 4]. The input x enters through one tp_copy; the LM head
// reads the gathered h directly (no tp_copy: the gather's reduce-scatter
// already sums its gradient).
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg3: tensor<4x8xf32> {weft.global_shape = array<i64: 4, 16>, {{.*}}weft.param = "lstm.0.w_ih", weft.split_dim = 1 : i64, weft.split_groups = 4 : i64}
// CHECK-SAME: %arg4: tensor<4x8xf32> {weft.global_shape = array<i64: 4, 16>, {{.*}}weft.param = "lstm.0.w_hh", weft.split_dim = 1 : i64, weft.split_groups = 4 : i64}
// CHECK-SAME: %arg5: tensor<8xf32> {weft.global_shape = array<i64: 16>, {{.*}}weft.param = "lstm.0.bias", weft.split_dim = 0 : i64, weft.split_groups = 4 : i64}
// CHECK-SAME: %arg6: tensor<4x4xf32> {weft.global_shape = array<i64: 4, 8>, {{.*}}weft.param = "head.weight", weft.split_dim = 1 : i64}
// CHECK: %[[SUM:.*]] = shard.all_reduce
// CHECK: %[[X:.*]] = weft.tp_copy %[[SUM]] : tensor<2x2x4xf32>
// CHECK: weft.slice %[[X]], start = [0, 0, 0]
// CHECK: %[[H0:.*]] = weft.constant dense<0.000000e+00> : tensor<2x4xf32>
// CHECK: %[[C0:.*]] = weft.constant dense<0.000000e+00> : tensor<2x2xf32>
// CHECK: weft.matmul %[[H0]], %arg4 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
// CHECK: weft.broadcast_in_dim %arg5, dims = [1] : tensor<8xf32> -> tensor<2x8xf32>
// CHECK: weft.matmul %{{.*}}, %arg3 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[G:.*]] = weft.add %{{.*}}, %{{.*}} : tensor<2x8xf32>
// CHECK: weft.slice %[[G]], start = [0, 0], limit = [2, 2] : tensor<2x8xf32> -> tensor<2x2xf32>
// CHECK: weft.slice %[[G]], start = [0, 2], limit = [2, 4] : tensor<2x8xf32> -> tensor<2x2xf32>
// CHECK: weft.slice %[[G]], start = [0, 4], limit = [2, 6] : tensor<2x8xf32> -> tensor<2x2xf32>
// CHECK: weft.slice %[[G]], start = [0, 6], limit = [2, 8] : tensor<2x8xf32> -> tensor<2x2xf32>
// CHECK: weft.mul %{{.*}}, %[[C0]] : tensor<2x2xf32>
// CHECK: %[[H1:.*]] = weft.mul %{{.*}}, %{{.*}} : tensor<2x2xf32>
// CHECK: %[[H1G:.*]] = weft.tp_gather %[[H1]] {dim = 1 : i64} : tensor<2x2xf32> -> tensor<2x4xf32>
// CHECK: weft.matmul %[[H1G]], %arg4 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[H2G:.*]] = weft.tp_gather %{{.*}} {dim = 1 : i64} : tensor<2x2xf32> -> tensor<2x4xf32>
// CHECK: %[[R1:.*]] = weft.reshape %[[H1G]] : tensor<2x4xf32> -> tensor<2x1x4xf32>
// CHECK: %[[R2:.*]] = weft.reshape %[[H2G]] : tensor<2x4xf32> -> tensor<2x1x4xf32>
// CHECK: %[[HS:.*]] = weft.concat %[[R1]], %[[R2]] dim = 1
// CHECK-NOT: weft.tp_copy
// CHECK: weft.matmul %[[HS]], %arg6 : (tensor<2x2x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4xf32>

// The gradient of each gathered h is reduce-scattered back to its slice
// (Megatron's gather / reduce-scatter pair), one per step; the input's
// tp_copy sums its gradient once for the whole sequence.
// GRAD-LABEL: func.func @train_step
// GRAD-COUNT-2: shard.reduce_scatter %{{.*}} on @mesh grid_axes = [0] scatter_axis = 1 : tensor<2x4xf32> -> tensor<2x2xf32>
// GRAD: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] : tensor<2x2x4xf32> -> tensor<2x2x4xf32>
// GRAD-NEXT: weft.embedding_grad

// After autodiff the gathers are plain all-gathers along dim 1.
// LOWER-NOT: weft.tp_gather
// LOWER: shard.all_gather %{{.*}} on @mesh grid_axes = [0] gather_axis = 1 : tensor<2x2xf32> -> tensor<2x4xf32>
// LOWER-NOT: weft.tp_gather

module {
  func.func @forward(
      %arg0: tensor<2x2xi32> {weft.input = "tokens"},
      %arg1: tensor<2x2xi32> {weft.input = "labels"},
      %arg2: tensor<8x4xf32> {weft.init = {dist = "normal", std = 1.000000e-01 : f32}, weft.param = "embedding"},
      %arg3: tensor<4x16xf32> {weft.init = {dist = "uniform", high = 5.000000e-01 : f32, low = -5.000000e-01 : f32}, weft.param = "lstm.0.w_ih"},
      %arg4: tensor<4x16xf32> {weft.init = {dist = "uniform", high = 5.000000e-01 : f32, low = -5.000000e-01 : f32}, weft.param = "lstm.0.w_hh"},
      %arg5: tensor<16xf32> {weft.init = {dist = "zeros"}, weft.param = "lstm.0.bias"},
      %arg6: tensor<4x8xf32> {weft.init = {dist = "uniform", high = 5.000000e-01 : f32, low = -5.000000e-01 : f32}, weft.param = "head.weight"},
      %arg7: tensor<8xf32> {weft.init = {dist = "zeros"}, weft.param = "head.bias"}
  ) -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<2x2x8xf32> {weft.output = "logits"}) {
    %0 = weft.embedding %arg2, %arg0 : (tensor<8x4xf32>, tensor<2x2xi32>) -> tensor<2x2x4xf32>
    %1 = weft.slice %0, start = [0, 0, 0], limit = [2, 1, 4] : tensor<2x2x4xf32> -> tensor<2x1x4xf32>
    %2 = weft.reshape %1 : tensor<2x1x4xf32> -> tensor<2x4xf32>
    %3 = weft.slice %0, start = [0, 1, 0], limit = [2, 2, 4] : tensor<2x2x4xf32> -> tensor<2x1x4xf32>
    %4 = weft.reshape %3 : tensor<2x1x4xf32> -> tensor<2x4xf32>
    %5 = weft.constant dense<0.000000e+00> : tensor<2x4xf32>
    %6 = weft.constant dense<0.000000e+00> : tensor<2x4xf32>
    %7 = weft.matmul %5, %arg4 : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
    %8 = weft.broadcast_in_dim %arg5, dims = [1] : tensor<16xf32> -> tensor<2x16xf32>
    %9 = weft.add %7, %8 : tensor<2x16xf32>
    %10 = weft.matmul %2, %arg3 : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
    %11 = weft.add %10, %9 : tensor<2x16xf32>
    %12 = weft.slice %11, start = [0, 0], limit = [2, 4] : tensor<2x16xf32> -> tensor<2x4xf32>
    %13 = weft.sigmoid %12 : tensor<2x4xf32>
    %14 = weft.slice %11, start = [0, 4], limit = [2, 8] : tensor<2x16xf32> -> tensor<2x4xf32>
    %15 = weft.sigmoid %14 : tensor<2x4xf32>
    %16 = weft.slice %11, start = [0, 8], limit = [2, 12] : tensor<2x16xf32> -> tensor<2x4xf32>
    %17 = weft.tanh %16 : tensor<2x4xf32>
    %18 = weft.slice %11, start = [0, 12], limit = [2, 16] : tensor<2x16xf32> -> tensor<2x4xf32>
    %19 = weft.sigmoid %18 : tensor<2x4xf32>
    %20 = weft.mul %13, %17 : tensor<2x4xf32>
    %21 = weft.mul %15, %6 : tensor<2x4xf32>
    %22 = weft.add %21, %20 : tensor<2x4xf32>
    %23 = weft.tanh %22 : tensor<2x4xf32>
    %24 = weft.mul %19, %23 : tensor<2x4xf32>
    %25 = weft.matmul %24, %arg4 : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
    %26 = weft.broadcast_in_dim %arg5, dims = [1] : tensor<16xf32> -> tensor<2x16xf32>
    %27 = weft.add %25, %26 : tensor<2x16xf32>
    %28 = weft.matmul %4, %arg3 : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
    %29 = weft.add %28, %27 : tensor<2x16xf32>
    %30 = weft.slice %29, start = [0, 0], limit = [2, 4] : tensor<2x16xf32> -> tensor<2x4xf32>
    %31 = weft.sigmoid %30 : tensor<2x4xf32>
    %32 = weft.slice %29, start = [0, 4], limit = [2, 8] : tensor<2x16xf32> -> tensor<2x4xf32>
    %33 = weft.sigmoid %32 : tensor<2x4xf32>
    %34 = weft.slice %29, start = [0, 8], limit = [2, 12] : tensor<2x16xf32> -> tensor<2x4xf32>
    %35 = weft.tanh %34 : tensor<2x4xf32>
    %36 = weft.slice %29, start = [0, 12], limit = [2, 16] : tensor<2x16xf32> -> tensor<2x4xf32>
    %37 = weft.sigmoid %36 : tensor<2x4xf32>
    %38 = weft.mul %31, %35 : tensor<2x4xf32>
    %39 = weft.mul %33, %22 : tensor<2x4xf32>
    %40 = weft.add %39, %38 : tensor<2x4xf32>
    %41 = weft.tanh %40 : tensor<2x4xf32>
    %42 = weft.mul %37, %41 : tensor<2x4xf32>
    %43 = weft.reshape %24 : tensor<2x4xf32> -> tensor<2x1x4xf32>
    %44 = weft.reshape %42 : tensor<2x4xf32> -> tensor<2x1x4xf32>
    %45 = weft.concat %43, %44 dim = 1 : (tensor<2x1x4xf32>, tensor<2x1x4xf32>) -> tensor<2x2x4xf32>
    %46 = weft.matmul %45, %arg6 : (tensor<2x2x4xf32>, tensor<4x8xf32>) -> tensor<2x2x8xf32>
    %47 = weft.broadcast_in_dim %arg7, dims = [2] : tensor<8xf32> -> tensor<2x2x8xf32>
    %48 = weft.add %46, %47 : tensor<2x2x8xf32>
    %49 = weft.cross_entropy %48, %arg1 : (tensor<2x2x8xf32>, tensor<2x2xi32>) -> tensor<f32>
    return %49, %48 : tensor<f32>, tensor<2x2x8xf32>
  }
}

// -----

// A cell whose h is also a result of the model does not match (the output
// would need the gathered h, whose gradient is not a partial sum): the LSTM
// stays replicated; the vocabulary is still split.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg3: tensor<4x16xf32> {weft.init = {{.*}}, weft.param = "w_ih"}
// CHECK-NOT: weft.split_groups
// CHECK-NOT: weft.tp_gather
// CHECK: weft.slice %{{.*}}, start = [0, 12], limit = [2, 16] : tensor<2x16xf32> -> tensor<2x4xf32>
func.func @forward(%ids: tensor<2xi32> {weft.input = "ids"}, %labels: tensor<2xi32> {weft.input = "labels"},
                   %table: tensor<8x4xf32> {weft.param = "table", weft.init = {dist = "zeros"}},
                   %wih: tensor<4x16xf32> {weft.param = "w_ih", weft.init = {dist = "zeros"}},
                   %head: tensor<4x8xf32> {weft.param = "head", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<2x4xf32> {weft.output = "h"}) {
  %x = weft.embedding %table, %ids : (tensor<8x4xf32>, tensor<2xi32>) -> tensor<2x4xf32>
  %g = weft.matmul %x, %wih : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
  %i0 = weft.slice %g, start = [0, 0], limit = [2, 4] : tensor<2x16xf32> -> tensor<2x4xf32>
  %f0 = weft.slice %g, start = [0, 4], limit = [2, 8] : tensor<2x16xf32> -> tensor<2x4xf32>
  %g0 = weft.slice %g, start = [0, 8], limit = [2, 12] : tensor<2x16xf32> -> tensor<2x4xf32>
  %o0 = weft.slice %g, start = [0, 12], limit = [2, 16] : tensor<2x16xf32> -> tensor<2x4xf32>
  %i = weft.sigmoid %i0 : tensor<2x4xf32>
  %gg = weft.tanh %g0 : tensor<2x4xf32>
  %o = weft.sigmoid %o0 : tensor<2x4xf32>
  %c = weft.mul %i, %gg : tensor<2x4xf32>
  %tc = weft.tanh %c : tensor<2x4xf32>
  %h = weft.mul %o, %tc : tensor<2x4xf32>
  %logits = weft.matmul %h, %head : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %loss = weft.cross_entropy %logits, %labels : (tensor<2x8xf32>, tensor<2xi32>) -> tensor<f32>
  return %loss, %h : tensor<f32>, tensor<2x4xf32>
}

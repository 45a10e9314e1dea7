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

// -----

// An attention block: q, k and v split by column (each device gets 2 of the
// 4 heads, bias and all), attention on the local heads, the output
// projection split by row, one all-reduce. One tp_copy feeds all three
// projections, so the backward sums their input gradients locally and
// all-reduces once.
// CHECK: shard.grid @mesh(shape = 2)
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg1: tensor<8x4xf32> {weft.global_shape = array<i64: 8, 8>, {{.*}}weft.param = "wq", weft.split_dim = 1 : i64}
// CHECK-SAME: %arg2: tensor<4xf32> {weft.global_shape = array<i64: 8>, {{.*}}weft.param = "bq", weft.split_dim = 0 : i64}
// CHECK-SAME: %arg5: tensor<4x8xf32> {weft.global_shape = array<i64: 8, 8>, {{.*}}weft.param = "wo", weft.split_dim = 0 : i64}
// CHECK: %[[X:.*]] = weft.tp_copy %{{.*}} : tensor<2x4x8xf32>
// CHECK: weft.matmul %[[X]], %arg1 : (tensor<2x4x8xf32>, tensor<8x4xf32>) -> tensor<2x4x4xf32>
// CHECK: weft.reshape %{{.*}} : tensor<2x4x4xf32> -> tensor<2x4x2x2xf32>
// CHECK: weft.matmul %[[X]], %arg3
// CHECK: weft.matmul %[[X]], %arg4
// CHECK: weft.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true} : (tensor<2x2x4x2xf32>, tensor<2x2x4x2xf32>, tensor<2x2x4x2xf32>) -> tensor<2x2x4x2xf32>
// CHECK: weft.reshape %{{.*}} : tensor<2x4x2x2xf32> -> tensor<2x4x4xf32>
// CHECK: %[[P:.*]] = weft.matmul %{{.*}}, %arg5 : (tensor<2x4x4xf32>, tensor<4x8xf32>) -> tensor<2x4x8xf32>
// CHECK: shard.all_reduce %[[P]] on @mesh grid_axes = [0] : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// GRAD-LABEL: func.func @train_step
// GRAD: shard.all_reduce %{{.*}} on @mesh grid_axes = [0] : tensor<2x4x8xf32>
// GRAD: weft.matmul %{{.*}}, %arg1 {transpose_b = true} : (tensor<2x4x4xf32>, tensor<8x4xf32>) -> tensor<2x4x8xf32>
// GRAD-NEXT: %[[DX:.*]] = weft.add
// GRAD: shard.all_reduce %[[DX]] on @mesh grid_axes = [0] : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// GRAD-NOT: shard.all_reduce
// GRAD-NOT: shard.all_reduce
func.func @forward(%x0: tensor<2x4x8xf32> {weft.input = "x"},
                   %wq: tensor<8x8xf32> {weft.param = "wq", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %bq: tensor<8xf32> {weft.param = "bq", weft.init = {dist = "zeros"}},
                   %wk: tensor<8x8xf32> {weft.param = "wk", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %wv: tensor<8x8xf32> {weft.param = "wv", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %wo: tensor<8x8xf32> {weft.param = "wo", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %s: tensor<8xf32> {weft.param = "s", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  // A parameter before the block, so that the input's gradient is needed.
  %sb = weft.broadcast_in_dim %s, dims = [2] : tensor<8xf32> -> tensor<2x4x8xf32>
  %x = weft.mul %x0, %sb : tensor<2x4x8xf32>
  %q = weft.matmul %x, %wq : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %bb = weft.broadcast_in_dim %bq, dims = [2] : tensor<8xf32> -> tensor<2x4x8xf32>
  %qb = weft.add %q, %bb : tensor<2x4x8xf32>
  %q1 = weft.reshape %qb : tensor<2x4x8xf32> -> tensor<2x4x4x2xf32>
  %q2 = weft.transpose %q1, perm = [0, 2, 1, 3] : tensor<2x4x4x2xf32> -> tensor<2x4x4x2xf32>
  %k = weft.matmul %x, %wk : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %k1 = weft.reshape %k : tensor<2x4x8xf32> -> tensor<2x4x4x2xf32>
  %k2 = weft.transpose %k1, perm = [0, 2, 1, 3] : tensor<2x4x4x2xf32> -> tensor<2x4x4x2xf32>
  %v = weft.matmul %x, %wv : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %v1 = weft.reshape %v : tensor<2x4x8xf32> -> tensor<2x4x4x2xf32>
  %v2 = weft.transpose %v1, perm = [0, 2, 1, 3] : tensor<2x4x4x2xf32> -> tensor<2x4x4x2xf32>
  %a = weft.attention %q2, %k2, %v2 {causal = true} : (tensor<2x4x4x2xf32>, tensor<2x4x4x2xf32>, tensor<2x4x4x2xf32>) -> tensor<2x4x4x2xf32>
  %b = weft.transpose %a, perm = [0, 2, 1, 3] : tensor<2x4x4x2xf32> -> tensor<2x4x4x2xf32>
  %c = weft.reshape %b : tensor<2x4x4x2xf32> -> tensor<2x4x8xf32>
  %y = weft.matmul %c, %wo : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %m = weft.reduce "mean" %y, dims = [0, 1, 2] : tensor<2x4x8xf32> -> tensor<f32>
  return %m : tensor<f32>
}

// -----

// Vocabulary parallel (tp=2): the tied table [16, 8] is split by row (the
// vocabulary); the embedding looks up its shard (vocab_axis) and an all-reduce
// sums the shards; the LM head (x @ table^T) enters through tp_copy and gives
// each device 8 of the 16 logits; the loss is the shards' max all-reduced,
// their statistics [rows, 2] summed, and log(s0) - s1 averaged; the logits
// output is marked split along its last dimension. The gradient of the stats
// is the only way back to the logits (none to the max).
// GRAD-LABEL: func.func @forward
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<8x8xf32> {weft.global_shape = array<i64: 16, 8>, weft.init = {{.*}}, weft.param = "table", weft.split_dim = 0 : i64}
// CHECK-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<2x3x8xf32> {weft.output = "logits", weft.split_dim = 2 : i64})
// CHECK: %[[E:[0-9]+]] = weft.embedding %[[T]], %{{.*}} {vocab_axis = 0 : i64}
// CHECK: shard.all_reduce %[[E]] on @mesh grid_axes = [0]
// CHECK: %[[X:[0-9]+]] = weft.tp_copy
// CHECK: %[[L:[0-9]+]] = weft.matmul %[[X]], %[[T]] {transpose_b = true} : (tensor<2x3x8xf32>, tensor<8x8xf32>) -> tensor<2x3x8xf32>
// CHECK: %[[M:[0-9]+]] = weft.reduce "max" %[[L]], dims = [2] : tensor<2x3x8xf32> -> tensor<2x3xf32>
// CHECK: %[[GM:[a-z_0-9]+]] = shard.all_reduce %[[M]] on @mesh grid_axes = [0] reduction = {{ *}}max
// CHECK: %[[S:[0-9]+]] = weft.vocab_shard_stats %[[L]], %{{.*}}, %[[GM]] {vocab_axis = 0 : i64} : {{.*}} -> tensor<2x3x2xf32>
// CHECK: shard.all_reduce %[[S]] on @mesh grid_axes = [0] : tensor<2x3x2xf32>
// CHECK: weft.log
// CHECK: weft.reduce "mean"
// CHECK-NOT: weft.cross_entropy
// GRAD-LABEL: func.func @train_step
// GRAD: weft.vocab_shard_stats_grad %{{.*}} {vocab_axis = 0 : i64}
// GRAD: weft.embedding_grad %{{.*}}, vocab = 8 {vocab_axis = 0 : i64}
func.func @forward(%ids: tensor<2x3xi32> {weft.input = "ids"},
                   %labels: tensor<2x3xi32> {weft.input = "labels"},
                   %table: tensor<16x8xf32> {weft.param = "table", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %g: tensor<8xf32> {weft.param = "g", weft.init = {dist = "ones"}},
                   %bn: tensor<8xf32> {weft.param = "bn", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}, tensor<2x3x16xf32> {weft.output = "logits"}) {
  %e = weft.embedding %table, %ids : (tensor<16x8xf32>, tensor<2x3xi32>) -> tensor<2x3x8xf32>
  %n = weft.layer_norm %e, %g, %bn : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  %l = weft.matmul %n, %table {transpose_b = true} : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  %loss = weft.cross_entropy %l, %labels : (tensor<2x3x16xf32>, tensor<2x3xi32>) -> tensor<f32>
  return %loss, %l : tensor<f32>, tensor<2x3x16xf32>
}

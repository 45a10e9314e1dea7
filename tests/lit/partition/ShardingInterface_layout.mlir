// ShardingInterface models of the layout ops, embedding, the optimizer updates and
// constants, through upstream sharding-propagation + shard-partition. Expected, by hand:
// - reshape [4,6,8] -> [24,8] split on dim 0: a block of the 4 is a block of the 24, so
//   it stays local ([2,6,8] -> [12,8]); [4,8] -> [32] split on dim 1 merges a split
//   inner dim, which is not a block of the result: gathered first.
// - transpose carries the split to the permuted dim; broadcast_in_dim carries the
//   operand's split to the dim it lands on.
// - slice cutting a split dim gathers it; concat along a whole dim keeps a row split.
// - embedding with the table split on D gives rows split on D, no collective; a table
//   split on the vocabulary is gathered (the local op cannot mask foreign ids).
// - embedding_grad with the rows split scatter-adds locally, then sums.
// - adamw_update with the parameter split: grad, m and v follow, step stays whole, and
//   all three results are split, with no collective.
// - a splat constant is rebuilt at the local shape; a non-splat one stays whole and the
//   user slices its own part out.
// RUN: weft-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation,shard-partition))" | FileCheck %s

// CHECK-LABEL: func.func @reshape_merge
// CHECK-SAME: (%arg0: tensor<2x6x8xf32>, %arg1: tensor<4x4xf32>) -> (tensor<12x8xf32>, tensor<32xf32>)
// CHECK: %[[G:.*]] = shard.all_gather %arg1 on @mesh grid_axes = [0] gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: %[[C:.*]] = tensor.cast %[[G]]
// CHECK: weft.reshape %arg0 : tensor<2x6x8xf32> -> tensor<12x8xf32>
// CHECK: weft.reshape %[[C]] : tensor<4x8xf32> -> tensor<32xf32>
shard.grid @mesh(shape = 2)
func.func @reshape_merge(%x: tensor<4x6x8xf32>, %y: tensor<4x8xf32>) -> (tensor<24x8xf32>, tensor<32xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x6x8xf32>
  %0 = weft.reshape %xs : tensor<4x6x8xf32> -> tensor<24x8xf32>
  %s1 = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %ys = shard.shard %y to %s1 : tensor<4x8xf32>
  %1 = weft.reshape %ys : tensor<4x8xf32> -> tensor<32xf32>
  return %0, %1 : tensor<24x8xf32>, tensor<32xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_broadcast
// CHECK-SAME: (%arg0: tensor<2x8xf32>, %arg1: tensor<4xf32>) -> (tensor<8x2xf32>, tensor<4x4xf32>)
// CHECK-NOT: shard.
// CHECK: weft.transpose %arg0, perm = [1, 0] : tensor<2x8xf32> -> tensor<8x2xf32>
// CHECK: weft.broadcast_in_dim %arg1, dims = [1] : tensor<4xf32> -> tensor<4x4xf32>
shard.grid @mesh(shape = 2)
func.func @transpose_broadcast(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<8x4xf32>, tensor<4x8xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.transpose %xs, perm = [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  %bs = shard.shard %b to %s : tensor<8xf32>
  %1 = weft.broadcast_in_dim %bs, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  return %0, %1 : tensor<8x4xf32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @slice_concat
// CHECK-SAME: (%arg0: tensor<4x4xf32>, %arg1: tensor<2x8xf32>) -> (tensor<4x4xf32>, tensor<2x16xf32>)
// CHECK: %[[G:.*]] = shard.all_gather %arg0 on @mesh grid_axes = [0] gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: %[[C:.*]] = tensor.cast %[[G]]
// CHECK: weft.slice %[[C]], start = [0, 2], limit = [4, 6] : tensor<4x8xf32> -> tensor<4x4xf32>
// CHECK-NOT: shard.
// CHECK: weft.concat %arg1, %arg1 dim = 1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x16xf32>
shard.grid @mesh(shape = 2)
func.func @slice_concat(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x16xf32>) {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.slice %xs, start = [0, 2], limit = [4, 6] : tensor<4x8xf32> -> tensor<4x4xf32>
  %r = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %ys = shard.shard %y to %r : tensor<4x8xf32>
  %1 = weft.concat %ys, %ys dim = 1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x4xf32>, tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func.func @embedding_dim
// CHECK-SAME: (%arg0: tensor<16x4xf32>, %arg1: tensor<4xi32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[E:.*]] = weft.embedding %arg0, %arg1 : (tensor<16x4xf32>, tensor<4xi32>) -> tensor<4x4xf32>
// CHECK-NEXT: return %[[E]]
shard.grid @mesh(shape = 2)
func.func @embedding_dim(%t: tensor<16x8xf32>, %ids: tensor<4xi32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %ts = shard.shard %t to %s : tensor<16x8xf32>
  %0 = weft.embedding %ts, %ids : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @embedding_grad_rows
// CHECK-SAME: (%arg0: tensor<2xi32>, %arg1: tensor<2x8xf32>) -> tensor<16x8xf32>
// CHECK: %[[D:.*]] = weft.embedding_grad %arg0, %arg1, vocab = 16 : (tensor<2xi32>, tensor<2x8xf32>) -> tensor<16x8xf32>
// CHECK: %[[R:.*]] = shard.all_reduce %[[D]] on @mesh grid_axes = [0] : tensor<16x8xf32>
// CHECK: return %[[R]]
shard.grid @mesh(shape = 2)
func.func @embedding_grad_rows(%ids: tensor<4xi32>, %dy: tensor<4x8xf32>) -> tensor<16x8xf32> {
  %r = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %is = shard.shard %ids to %r : tensor<4xi32>
  %0 = weft.embedding_grad %is, %dy, vocab = 16 : (tensor<4xi32>, tensor<4x8xf32>) -> tensor<16x8xf32>
  return %0 : tensor<16x8xf32>
}

// -----

// CHECK-LABEL: func.func @embedding_vocab
// CHECK-SAME: (%arg0: tensor<8x8xf32>, %arg1: tensor<4xi32>) -> tensor<4x8xf32>
// CHECK: %[[G:.*]] = shard.all_gather %arg0 on @mesh grid_axes = [0] gather_axis = 0 : tensor<8x8xf32> -> tensor<16x8xf32>
// CHECK: %[[C:.*]] = tensor.cast %[[G]]
// CHECK: weft.embedding %[[C]], %arg1 : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
shard.grid @mesh(shape = 2)
func.func @embedding_vocab(%t: tensor<16x8xf32>, %ids: tensor<4xi32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %ts = shard.shard %t to %s : tensor<16x8xf32>
  %0 = weft.embedding %ts, %ids : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @adamw
// CHECK-SAME: (%arg0: tensor<4x4xf32>, %arg1: tensor<4x4xf32>, %arg2: tensor<4x4xf32>, %arg3: tensor<4x4xf32>, %arg4: tensor<f32>)
// CHECK-NEXT: %[[P:.*]], %[[M:.*]], %[[V:.*]] = weft.adamw_update %arg0, %arg1, %arg2, %arg3, %arg4
// CHECK-SAME: -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK-NEXT: return %[[P]], %[[M]], %[[V]]
shard.grid @mesh(shape = 2)
func.func @adamw(%p: tensor<8x4xf32>, %g: tensor<8x4xf32>, %m: tensor<8x4xf32>, %v: tensor<8x4xf32>, %t: tensor<f32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %ps = shard.shard %p to %s : tensor<8x4xf32>
  %0:3 = weft.adamw_update %ps, %g, %m, %v, %t {lr = 0.001 : f32, beta1 = 0.9 : f32, beta2 = 0.999 : f32, eps = 1.0e-8 : f32, weight_decay = 0.01 : f32} : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<f32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>)
  return %0#0, %0#1, %0#2 : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func.func @constants
// CHECK-SAME: (%arg0: tensor<2x2xf32>)
// CHECK: %[[S:.*]] = weft.constant dense<2.000000e+00> : tensor<2x2xf32>
// CHECK: weft.mul %arg0, %[[S]] : tensor<2x2xf32>
// CHECK: %[[D:.*]] = weft.constant dense<{{.*}}> : tensor<4x2xf32>
// CHECK: %[[L:.*]] = shard.all_slice %[[D]] on @mesh grid_axes = [0] slice_axis = 0 : tensor<4x2xf32> -> tensor<2x2xf32>
// CHECK: weft.add %arg0, %[[L]] : tensor<2x2xf32>
shard.grid @mesh(shape = 2)
func.func @constants(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x2xf32>
  %c = weft.constant dense<2.0> : tensor<4x2xf32>
  %0 = weft.mul %xs, %c : tensor<4x2xf32>
  %xs2 = shard.shard %x to %s : tensor<4x2xf32>
  %d = weft.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %1 = weft.add %xs2, %d : tensor<4x2xf32>
  return %0, %1 : tensor<4x2xf32>, tensor<4x2xf32>
}

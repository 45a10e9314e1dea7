// ShardingInterface models of attention and its gradient (matmul: ShardingInterface.mlir),
// through upstream sharding-propagation + shard-partition. Expected, worked out by hand:
// - attention split on heads (q, k, v alike): each device attends over its own heads,
//   causal or not, with no collective.
// - q split on its sequence: without `causal` each device answers its own queries against
//   all keys (k, v stay whole); with `causal` the mask needs global query positions, so
//   the queries are gathered first and the result is whole.
// - attention_grad with the queries split: dq stays split, dk and dv sum over the queries
//   and are all-reduced.
// RUN: weft-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation,shard-partition))" | FileCheck %s

// CHECK-LABEL: func.func @attention_heads
// CHECK-SAME: (%arg0: tensor<2x2x8x16xf32>, %arg1: tensor<2x2x8x16xf32>, %arg2: tensor<2x2x8x16xf32>) -> tensor<2x2x8x16xf32>
// CHECK-NEXT: %[[O:.*]] = weft.attention %arg0, %arg1, %arg2 {causal = true} : {{.*}} -> tensor<2x2x8x16xf32>
// CHECK-NEXT: return %[[O]]
shard.grid @mesh(shape = 2)
func.func @attention_heads(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %qs = shard.shard %q to %s : tensor<2x4x8x16xf32>
  %ks = shard.shard %k to %s : tensor<2x4x8x16xf32>
  %vs = shard.shard %v to %s : tensor<2x4x8x16xf32>
  %0 = weft.attention %qs, %ks, %vs {causal = true} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @attention_queries
// CHECK-SAME: (%arg0: tensor<1x2x4x16xf32>, %arg1: tensor<1x2x8x16xf32>, %arg2: tensor<1x2x8x16xf32>) -> (tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>)
// CHECK: %[[G:.*]] = shard.all_gather %arg0 on @mesh grid_axes = [0] gather_axis = 2 : tensor<1x2x4x16xf32> -> tensor<1x2x8x16xf32>
// CHECK: %[[C:.*]] = tensor.cast %[[G]]
// CHECK: weft.attention %arg0, %arg1, %arg2 : {{.*}} -> tensor<1x2x4x16xf32>
// CHECK: weft.attention %[[C]], %arg1, %arg2 {causal = true} : {{.*}} -> tensor<1x2x8x16xf32>
shard.grid @mesh(shape = 2)
func.func @attention_queries(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %s = shard.sharding @mesh split_axes = [[], [], [0]] : !shard.sharding
  %qs = shard.shard %q to %s : tensor<1x2x8x16xf32>
  %0 = weft.attention %qs, %k, %v : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %qs2 = shard.shard %q to %s : tensor<1x2x8x16xf32>
  %1 = weft.attention %qs2, %k, %v {causal = true} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %0, %1 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @attention_grad_queries
// CHECK-SAME: (%arg0: tensor<1x2x4x16xf32>, %arg1: tensor<1x2x8x16xf32>, %arg2: tensor<1x2x8x16xf32>, %arg3: tensor<1x2x4x16xf32>)
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = weft.attention_grad %arg0, %arg1, %arg2, %arg3
// CHECK-SAME: -> (tensor<1x2x4x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
// CHECK: %[[DKR:.*]] = shard.all_reduce %[[DK]] on @mesh grid_axes = [0] : tensor<1x2x8x16xf32>
// CHECK: %[[DVR:.*]] = shard.all_reduce %[[DV]] on @mesh grid_axes = [0] : tensor<1x2x8x16xf32>
// CHECK-NOT: shard.all_reduce
// CHECK: return %[[DQ]], %[[DKR]], %[[DVR]]
shard.grid @mesh(shape = 2)
func.func @attention_grad_queries(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %dy: tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %s = shard.sharding @mesh split_axes = [[], [], [0]] : !shard.sharding
  %qs = shard.shard %q to %s : tensor<1x2x8x16xf32>
  %0:3 = weft.attention_grad %qs, %k, %v, %dy : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  return %0#0, %0#1, %0#2 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}

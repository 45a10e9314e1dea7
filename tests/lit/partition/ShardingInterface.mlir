// Upstream sharding-propagation + shard-partition on weft ops (the ShardingInterface
// external models in dialects/weft/Interfaces): the Megatron MLP, a column split then a row
// split, costs exactly one all-reduce; on a 2x2 dp x tp grid the batch splits too and the
// all-reduce runs over the tp axis only.
// RUN: weft-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation,shard-partition))" | FileCheck %s

// CHECK-LABEL: func.func @megatron_mlp
// CHECK-SAME: (%arg0: tensor<4x8xf32>, %arg1: tensor<8x8xf32>, %arg2: tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.matmul %arg0, %arg1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.gelu %{{.*}} : tensor<4x8xf32>
// CHECK: %[[P:.*]] = weft.matmul %{{.*}}, %arg2 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: %[[R:.*]] = shard.all_reduce %[[P]] on @mesh grid_axes = [0]
// CHECK-NOT: shard.all_reduce
// CHECK: return %[[R]]
shard.grid @mesh(shape = 2)
func.func @megatron_mlp(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %w2: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %s1 = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<8x16xf32>
  %s2 = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<16x8xf32>
  %0 = weft.matmul %x, %w1s : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = weft.gelu %0 : tensor<4x16xf32>
  %2 = weft.matmul %1, %w2s : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @dp_tp
// CHECK-SAME: (%arg0: tensor<2x8xf32>, %arg1: tensor<8x8xf32>, %arg2: tensor<8x8xf32>) -> tensor<2x8xf32>
// CHECK: shard.all_reduce %{{.*}} on @mesh grid_axes = [1]
// CHECK-NOT: shard.all_reduce
shard.grid @mesh(shape = 2x2)
func.func @dp_tp(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %w2: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %s0 = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s0 : tensor<4x8xf32>
  %s1 = shard.sharding @mesh split_axes = [[], [1]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<8x16xf32>
  %s2 = shard.sharding @mesh split_axes = [[1]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<16x8xf32>
  %0 = weft.matmul %xs, %w1s : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = weft.gelu %0 : tensor<4x16xf32>
  %2 = weft.matmul %1, %w2s : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %s3 = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %3 = shard.shard %2 to %s3 : tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

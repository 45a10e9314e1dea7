// shard-partition on hand-written annotations that split what a weft op cannot split
// (sharding-propagation never asks for these; see ShardingInterface_reductions.mlir):
// a softmax over a split axis would normalise each device's slice, and a non-splat
// constant would need a different slice on each device. Both are refused with an error.
// RUN: weft-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(shard-partition))"

shard.grid @mesh(shape = 2)
func.func @softmax_axis_split(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %xu = shard.shard %xs to %s annotate_for_users : tensor<4x8xf32>
  // expected-error @+1 {{cannot be split along loop 1 (e.g. a softmax or norm axis)}}
  %0 = weft.softmax %xu : tensor<4x8xf32>
  %r = shard.shard %0 to %s : tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

shard.grid @mesh(shape = 2)
func.func @constant_split() -> tensor<2xf32> {
  // expected-error @+1 {{a non-splat constant cannot be split}}
  %c = weft.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %r = shard.shard %c to %s : tensor<2xf32>
  return %r : tensor<2xf32>
}

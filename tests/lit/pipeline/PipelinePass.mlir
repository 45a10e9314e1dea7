// RUN: weft-opt %s --weft-partition-batch=dp=2 --weft-pipeline="pp=2 rank=0 microbatches=2 schedule=gpipe" | FileCheck %s --check-prefix=R0
// RUN: weft-opt %s --weft-partition-batch=dp=2 --weft-pipeline="pp=2 rank=1 microbatches=2 schedule=gpipe" | FileCheck %s --check-prefix=R1
// RUN: not weft-opt %s --weft-pipeline="pp=2 rank=0 schedule=interleaved virtual-stages=2" 2>&1 | FileCheck %s --check-prefix=INTER

// Two layers, one a stage, and a tied weight (%w used by both). The batch
// split in 2 microbatches (partition-batch with dp=2 makes @forward one
// microbatch's step); @mesh gets the pp axis after the batch axis, which is
// back to dp = 1.

// R0: shard.grid @mesh(shape = 1x2)
// R0: func.func @train_step(%arg0: tensor<4x8xf32> {{.*}}weft.input = "x"}, %arg1: tensor<4xi32> {{.*}}weft.input = "y"}, %arg2: tensor<8x8xf32> {{.*}}weft.param = "w0"}, %arg3: tensor<8x8xf32> {{.*}}weft.param = "tied"})
// R0-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<8x8xf32> {weft.grad = "w0"}, tensor<8x8xf32> {weft.grad = "tied"})
// GPipe on rank 0: both forwards (microbatch slices of x), both sends, then
// both receives of gradients and both backwards.
// R0: weft.slice %arg0, start = [0, 0], limit = [2, 8]
// R0: shard.send {{.*}} destination = [1]
// R0: weft.slice %arg0, start = [2, 0], limit = [4, 8]
// R0: shard.send {{.*}} destination = [1]
// R0: shard.recv {{.*}} source = [1]
// R0: shard.recv {{.*}} source = [1]
// The average over microbatches, then the tied weight's exchange: rank 0
// sends its part first.
// R0: shard.all_reduce {{.*}} grid_axes = [1] : tensor<f32> -> tensor<f32>
// R0: weft.scale {{.*}}, 5.000000e-01
// R0: shard.send {{.*}} destination = [1] : (tensor<8x8xf32>)
// R0: shard.recv {{.*}} source = [1] : (tensor<8x8xf32>)
// R0: return {{.*}} : tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>
// R0-NOT: func.func @forward

// R1: func.func @train_step(%arg0: tensor<4x8xf32> {{.*}}, %arg1: tensor<4xi32> {{.*}}, %arg2: tensor<8x8xf32> {{.*}}weft.param = "tied"}, %arg3: tensor<8x8xf32> {{.*}}weft.param = "w1"})
// R1: shard.recv {{.*}} source = [0]
// R1: shard.recv {{.*}} source = [0]
// R1: shard.send {{.*}} destination = [0]
// R1: shard.send {{.*}} destination = [0]
// The last stage's loss is the microbatches' mean; rank 1 receives the tied
// gradient first.
// R1: weft.scale {{.*}}, 5.000000e-01 : tensor<f32>
// R1: shard.all_reduce
// R1: shard.recv {{.*}} source = [0] : (tensor<8x8xf32>)
// R1: shard.send {{.*}} destination = [0] : (tensor<8x8xf32>)

// INTER: error: more pipeline stages (4) than layers (2 weft.block blocks)

func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"}, %y: tensor<4xi32> {weft.input = "y"},
                   %w0: tensor<8x8xf32> {weft.init = {dist = "normal", std = 0.1 : f32}, weft.param = "w0"},
                   %tied: tensor<8x8xf32> {weft.init = {dist = "normal", std = 0.1 : f32}, weft.param = "tied"},
                   %w1: tensor<8x8xf32> {weft.init = {dist = "normal", std = 0.1 : f32}, weft.param = "w1"}) -> (tensor<f32> {weft.loss}) {
  %a = weft.matmul %x, %w0 {weft.block = 0 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %b = weft.matmul %a, %tied {weft.block = 0 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %h = weft.tanh %b {weft.block = 0 : i64} : tensor<4x8xf32>
  %c = weft.matmul %h, %w1 {weft.block = 1 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %d = weft.matmul %c, %tied {weft.block = 1 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %l = weft.cross_entropy %d, %y : (tensor<4x8xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}

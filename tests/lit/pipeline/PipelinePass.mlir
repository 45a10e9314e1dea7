// RUN: weft-opt %s --weft-partition-batch=microbatches=2 --weft-pipeline="pp=2 rank=0 microbatches=2 schedule=gpipe" | FileCheck %s --check-prefix=R0
// RUN: weft-opt %s --weft-partition-batch=microbatches=2 --weft-pipeline="pp=2 rank=1 microbatches=2 schedule=gpipe" | FileCheck %s --check-prefix=R1
// RUN: weft-opt %s --weft-partition-batch=microbatches=2 --weft-pipeline="pp=2 rank=1 microbatches=2 schedule=gpipe" --weft-inline-stages | FileCheck %s --check-prefix=INLINED
// RUN: not weft-opt %s --weft-pipeline="pp=2 rank=0 schedule=interleaved virtual-stages=2" 2>&1 | FileCheck %s --check-prefix=INTER

// Two layers, one a stage, and a tied weight (%tied, read by both). The
// batch split in 2 microbatches (partition-batch with microbatches=2 makes
// @forward one microbatch's step, no mesh axis); @mesh is the pp axis alone.
// Each stage is outlined (@pp_stage<s>, @pp_stage<s>_backward)
// and @train_step is the rank's list of the schedule calling them.

// R0: shard.grid @mesh(shape = 2)
// R0: func.func private @pp_stage0_backward(%arg0: tensor<8x8xf32>, %arg1: tensor<8x8xf32>, %arg2: tensor<2x8xf32>, %arg3: tensor<2x8xf32>) -> (tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>)
// R0: func.func private @pp_stage0(%arg0: tensor<8x8xf32>, %arg1: tensor<8x8xf32>, %arg2: tensor<2x8xf32>) -> tensor<2x8xf32>
// R0: func.func @train_step(%arg0: tensor<4x8xf32> {{.*}}weft.input = "x"}, %arg1: tensor<4xi32> {{.*}}weft.input = "y"}, %arg2: tensor<8x8xf32> {{.*}}weft.param = "w0"}, %arg3: tensor<8x8xf32> {{.*}}weft.param = "tied"})
// R0-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<8x8xf32> {weft.grad = "w0"}, tensor<8x8xf32> {weft.grad = "tied"})
// GPipe on rank 0: both forwards (on microbatch slices of x), each sent,
// then per microbatch the gradient received and the backward.
// R0: %[[MB0:.*]] = weft.slice %arg0, start = [0, 0], limit = [2, 8]
// R0: %[[F0:.*]] = call @pp_stage0(%arg2, %arg3, %[[MB0]])
// R0: shard.send %[[F0]] on @mesh grid_axes = [0] destination = [1]
// R0: %[[MB1:.*]] = weft.slice %arg0, start = [2, 0], limit = [4, 8]
// R0: %[[F1:.*]] = call @pp_stage0(%arg2, %arg3, %[[MB1]])
// R0: shard.send %[[F1]] on @mesh grid_axes = [0] destination = [1]
// R0: %[[G0:.*]] = shard.recv {{.*}} source = [1]
// R0: call @pp_stage0_backward(%arg2, %arg3, %[[MB0]], %[[G0]])
// R0: %[[G1:.*]] = shard.recv {{.*}} source = [1]
// R0: call @pp_stage0_backward(%arg2, %arg3, %[[MB1]], %[[G1]])
// No loss here: 0, all-reduced over pp. Gradients averaged over the 2
// microbatches, then the tied weight's exchange: rank 0 sends its part first.
// R0: shard.all_reduce {{.*}} grid_axes = [0] : tensor<f32> -> tensor<f32>
// R0: weft.scale {{.*}}, 5.000000e-01
// R0: shard.send {{.*}} destination = [1] : (tensor<8x8xf32>)
// R0: shard.recv {{.*}} source = [1] : (tensor<8x8xf32>)
// R0-NOT: func.func @forward

// The last stage: its forward runs inside its backward (nothing to send on).
// R1: func.func private @pp_stage1_backward(%arg0: tensor<8x8xf32>, %arg1: tensor<8x8xf32>, %arg2: tensor<2xi32>, %arg3: tensor<2x8xf32>) -> (tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>)
// R1-NOT: func.func private @pp_stage1(
// R1: func.func @train_step(%arg0: tensor<4x8xf32> {{.*}}, %arg1: tensor<4xi32> {{.*}}, %arg2: tensor<8x8xf32> {{.*}}weft.param = "tied"}, %arg3: tensor<8x8xf32> {{.*}}weft.param = "w1"})
// R1: %[[A0:.*]] = shard.recv {{.*}} source = [0]
// R1: %[[A1:.*]] = shard.recv {{.*}} source = [0]
// R1: %[[B0:.*]]:4 = call @pp_stage1_backward(%arg2, %arg3, %{{.*}}, %[[A0]])
// R1: shard.send %[[B0]]#3 on @mesh grid_axes = [0] destination = [0]
// R1: %[[B1:.*]]:4 = call @pp_stage1_backward(%arg2, %arg3, %{{.*}}, %[[A1]])
// The loss is the microbatches' mean; rank 1 receives the tied gradient first.
// R1: %[[L:.*]] = weft.add %[[B0]]#0, %[[B1]]#0
// R1: shard.send %[[B1]]#3 on @mesh grid_axes = [0] destination = [0]
// R1: weft.scale %[[L]], 5.000000e-01 : tensor<f32>
// R1: shard.all_reduce
// R1: shard.recv {{.*}} source = [0] : (tensor<8x8xf32>)
// R1: shard.send {{.*}} destination = [0] : (tensor<8x8xf32>)

// weft-inline-stages: one straight-line step, the stage functions gone.
// INLINED-NOT: func.func private
// INLINED-NOT: call @
// INLINED: func.func @train_step
// INLINED: weft.cross_entropy
// INLINED: weft.cross_entropy_grad
// INLINED: weft.cross_entropy
// INLINED: weft.cross_entropy_grad
// INLINED-NOT: call @

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

// ShardingInterface models of the reductions and normalisations, through upstream
// sharding-propagation + shard-partition. Expected results, worked out by hand:
// - layer_norm split on rows: every device normalises its own rows, no collective;
//   gamma and beta stay whole.
// - softmax split on its axis: the axis is unshardable, so propagation asks for it
//   replicated and partition gathers it first; a row split on another grid axis
//   survives (2x2 grid: gather over axis 1 only, rows stay split over axis 0).
// - reduce over a split dim: local reduce, then one all-reduce of the reduce's kind
//   (sum -> sum, mean -> average of equal shards, max -> max).
// - cross_entropy split on rows: labels split alike, the local mean loss is averaged
//   over the devices; cross_entropy_grad divides by its local row count, 1/2 of the
//   global one, so it is rescaled by 1/2.
// - layer_norm_grad split on rows: dx stays local, dgamma and dbeta are partial sums.
// RUN: weft-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation))" | FileCheck %s --check-prefix=PROP
// RUN: weft-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation,shard-partition))" | FileCheck %s

// PROP-LABEL: func.func @layer_norm_rows
// PROP: %[[G:.*]] = shard.sharding @mesh split_axes = {{\[\[\]\]}}
// PROP: shard.shard %arg1 to %[[G]] annotate_for_users
// PROP: %[[R:.*]] = shard.sharding @mesh split_axes = {{\[\[}}0]]
// PROP: shard.shard %{{.*}} to %[[R]] : tensor<4x8xf32>
// CHECK-LABEL: func.func @layer_norm_rows
// CHECK-SAME: (%arg0: tensor<2x8xf32>, %arg1: tensor<8xf32>, %arg2: tensor<8xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: %[[Y:.*]] = weft.layer_norm %arg0, %arg1, %arg2 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: return %[[Y]]
shard.grid @mesh(shape = 2)
func.func @layer_norm_rows(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.layer_norm %xs, %g, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// PROP-LABEL: func.func @softmax_last
// PROP: %[[S:.*]] = shard.sharding @mesh split_axes = {{\[\[\]\]}}
// PROP: shard.shard %{{.*}} to %[[S]] annotate_for_users
// PROP: weft.softmax
// CHECK-LABEL: func.func @softmax_last
// CHECK-SAME: (%arg0: tensor<4x4xf32>) -> tensor<4x8xf32>
// CHECK: shard.all_gather %arg0 on @mesh grid_axes = [0] gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: weft.softmax %{{.*}} : tensor<4x8xf32>
shard.grid @mesh(shape = 2)
func.func @softmax_last(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.softmax %xs : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// PROP-LABEL: func.func @softmax_both
// PROP: %[[S:.*]] = shard.sharding @mesh split_axes = {{\[\[}}0]]
// PROP: shard.shard %{{.*}} to %[[S]] annotate_for_users
// CHECK-LABEL: func.func @softmax_both
// CHECK-SAME: (%arg0: tensor<2x4xf32>) -> tensor<2x8xf32>
// CHECK: shard.all_gather %arg0 on @mesh grid_axes = [1] gather_axis = 1 : tensor<2x4xf32> -> tensor<2x8xf32>
// CHECK-NOT: shard.all_
// CHECK: weft.softmax %{{.*}} : tensor<2x8xf32>
// CHECK-NEXT: return
shard.grid @mesh(shape = 2x2)
func.func @softmax_both(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @mesh split_axes = [[0], [1]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.softmax %xs : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_split
// CHECK-SAME: (%arg0: tensor<4x4xf32>)
// CHECK: %[[S:.*]] = weft.reduce "sum" %arg0, dims = [1] : tensor<4x4xf32> -> tensor<4xf32>
// CHECK: %[[SR:.*]] = shard.all_reduce %[[S]] on @mesh grid_axes = [0] : tensor<4xf32>
// CHECK: %[[M:.*]] = weft.reduce "mean" %arg0, dims = [-1] {keep_dims = true} : tensor<4x4xf32> -> tensor<4x1xf32>
// CHECK: %[[MR:.*]] = shard.all_reduce %[[M]] on @mesh grid_axes = [0] reduction = average
// CHECK: %[[X:.*]] = weft.reduce "max" %arg0, dims = [1] : tensor<4x4xf32> -> tensor<4xf32>
// CHECK: %[[XR:.*]] = shard.all_reduce %[[X]] on @mesh grid_axes = [0] reduction = max
// CHECK: return %[[SR]], %[[MR]], %[[XR]]
shard.grid @mesh(shape = 2)
func.func @reduce_split(%x: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4x1xf32>, tensor<4xf32>) {
  %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0 = weft.reduce "sum" %xs, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  %1 = weft.reduce "mean" %xs, dims = [-1] {keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %2 = weft.reduce "max" %xs, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4x1xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @cross_entropy_rows
// CHECK-SAME: (%arg0: tensor<2x8xf32>, %arg1: tensor<2xi32>, %arg2: tensor<f32>)
// CHECK: %[[L:.*]] = weft.cross_entropy %arg0, %arg1 : (tensor<2x8xf32>, tensor<2xi32>) -> tensor<f32>
// CHECK: %[[LR:.*]] = shard.all_reduce %[[L]] on @mesh grid_axes = [0] reduction = average : tensor<f32>
// CHECK: %[[G:.*]] = weft.cross_entropy_grad %arg0, %arg1, %arg2 : (tensor<2x8xf32>, tensor<2xi32>, tensor<f32>) -> tensor<2x8xf32>
// CHECK: %[[GS:.*]] = weft.scale %[[G]], 5.000000e-01 : tensor<2x8xf32>
// CHECK-NOT: shard.all_reduce
// CHECK: return %[[LR]], %[[GS]]
shard.grid @mesh(shape = 2)
func.func @cross_entropy_rows(%l: tensor<4x8xf32>, %y: tensor<4xi32>, %d: tensor<f32>) -> (tensor<f32>, tensor<4x8xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %ls = shard.shard %l to %s : tensor<4x8xf32>
  %0 = weft.cross_entropy %ls, %y : (tensor<4x8xf32>, tensor<4xi32>) -> tensor<f32>
  %1 = weft.cross_entropy_grad %ls, %y, %d : (tensor<4x8xf32>, tensor<4xi32>, tensor<f32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<f32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @layer_norm_grad_rows
// CHECK-SAME: (%arg0: tensor<2x8xf32>, %arg1: tensor<8xf32>, %arg2: tensor<2x8xf32>)
// CHECK: %[[DX:.*]], %[[DG:.*]], %[[DB:.*]] = weft.layer_norm_grad %arg0, %arg1, %arg2
// CHECK: %[[DGR:.*]] = shard.all_reduce %[[DG]] on @mesh grid_axes = [0] : tensor<8xf32>
// CHECK: %[[DBR:.*]] = shard.all_reduce %[[DB]] on @mesh grid_axes = [0] : tensor<8xf32>
// CHECK: return %[[DX]], %[[DGR]], %[[DBR]]
shard.grid @mesh(shape = 2)
func.func @layer_norm_grad_rows(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %dy: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %0:3 = weft.layer_norm_grad %xs, %g, %dy : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %0#0, %0#1, %0#2 : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

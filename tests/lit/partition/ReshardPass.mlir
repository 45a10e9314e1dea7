// RUN: weft-opt %s --weft-reshard | FileCheck %s

// Each weft.reshard becomes its cheapest plan on @mesh (2 x 2, 4x8 f32).
shard.grid @mesh(shape = 2x2)

// A split moved to another dimension: one all-to-all, not gather + slice.
// CHECK-LABEL: func.func @move
// CHECK: %[[A:.*]] = shard.all_to_all %arg0 on @mesh grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<4x4xf32> -> tensor<2x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @move(%x: tensor<4x4xf32>) -> tensor<2x8xf32> {
  %0 = weft.reshard %x from "R,S1" to "R,S0" : tensor<4x4xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// A pending sum wanted split: one reduce-scatter.
// CHECK-LABEL: func.func @partial_to_split
// CHECK: shard.reduce_scatter %arg0 on @mesh grid_axes = [1] scatter_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK-NOT: shard.
func.func @partial_to_split(%x: tensor<4x8xf32>) -> tensor<2x8xf32> {
  %0 = weft.reshard %x from "R,P" to "R,S0" : tensor<4x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// Slice on tp first (free), then the dp reduce-scatter sends half as much.
// CHECK-LABEL: func.func @slice_then_reduce
// CHECK: %[[S:.*]] = shard.all_slice %arg0 on @mesh grid_axes = [1] slice_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK: shard.reduce_scatter %[[S]] on @mesh grid_axes = [0] scatter_axis = 1 : tensor<2x8xf32> -> tensor<2x4xf32>
func.func @slice_then_reduce(%x: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %0 = weft.reshard %x from "P,R" to "S1,S0" : tensor<4x8xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// Nothing to do: the operand itself.
// CHECK-LABEL: func.func @same
// CHECK-NEXT: return %arg0
func.func @same(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = weft.reshard %x from "S0,S1" to "S0,S1" : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

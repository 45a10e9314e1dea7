// RUN: weft-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-elementwise))' | FileCheck %s

// A bias add and a GELU after a matmul become one region; the broadcast of
// the bias is pulled in as a strided load.
// CHECK-LABEL: func @bias_gelu
// CHECK: %[[MM:.*]] = weft.matmul
// CHECK: %[[F:.*]] = weft.fused(%arg2, %[[MM]]) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[B:.*]]: tensor<8xf32>, %[[X:.*]]: tensor<4x8xf32>):
// CHECK-NEXT:   %[[BB:.*]] = weft.broadcast_in_dim %[[B]], dims = [1]
// CHECK-NEXT:   %[[A:.*]] = weft.add %[[X]], %[[BB]]
// CHECK-NEXT:   %[[G:.*]] = weft.gelu %[[A]]
// CHECK-NEXT:   weft.yield %[[G]] : tensor<4x8xf32>
// CHECK: return %[[F]]
func.func @bias_gelu(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %2 = weft.add %0, %1 : tensor<4x8xf32>
  %3 = weft.gelu %2 : tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// -----

// A value used both inside the region and after it is a second result.
// CHECK-LABEL: func @escaping_intermediate
// CHECK: %[[F:.*]]:2 = weft.fused(%arg0, %arg1) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK: weft.yield %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32>
// CHECK: weft.matmul
func.func @escaping_intermediate(%a: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>) {
  %0 = weft.add %a, %b : tensor<4xf32>
  %1 = weft.exp %0 : tensor<4xf32>
  %2 = weft.matmul %m, %m : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>
}

// -----

// Different shapes are different regions; so are float and integer ops.
// CHECK-LABEL: func @shapes_and_classes
// CHECK-COUNT-3: weft.fused
// CHECK-NOT: weft.fused
func.func @shapes_and_classes(%a: tensor<4xf32>, %b: tensor<8xf32>, %i: tensor<4xi32>) -> (tensor<4xf32>, tensor<8xf32>, tensor<4xi32>) {
  %0 = weft.exp %a : tensor<4xf32>
  %1 = weft.exp %b : tensor<8xf32>
  %2 = weft.add %i, %i : tensor<4xi32>
  return %0, %1, %2 : tensor<4xf32>, tensor<8xf32>, tensor<4xi32>
}

// -----

// A region never moves past an outside user of one of its members: here the
// matmul reads %0 before %2 could join, so %2 starts a region of its own.
// CHECK-LABEL: func @keeps_dominance
// CHECK: %[[R1:.*]] = weft.fused(%arg0) : (tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: %[[MM:.*]] = weft.matmul %[[R1]], %[[R1]]
// CHECK: weft.fused(%[[R1]], %[[MM]])
func.func @keeps_dominance(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = weft.tanh %a : tensor<4x4xf32>
  %1 = weft.matmul %0, %0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = weft.add %0, %1 : tensor<4x4xf32>
  return %2 : tensor<4x4xf32>
}

// -----

// A pipeline's running sum of gradients (weft.accumulate) stays where it is:
// each add runs right after the matmul that made its gradient, rather than
// all of them at the end in one region (which would keep every gradient alive).
// CHECK-LABEL: func @running_sum
// CHECK: weft.matmul
// CHECK: weft.matmul
// CHECK-NEXT: weft.fused
// CHECK: weft.matmul
// CHECK-NEXT: weft.fused
// CHECK: return
func.func @running_sum(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %g0 = weft.matmul %x, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %g1 = weft.matmul %g0, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s1 = weft.add %g0, %g1 {weft.accumulate} : tensor<4x4xf32>
  %g2 = weft.matmul %g1, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s2 = weft.add %s1, %g2 {weft.accumulate} : tensor<4x4xf32>
  return %s2 : tensor<4x4xf32>
}

// -----

// A broadcast read by two regions (the second cannot join the first: the
// matmul reads the first's result before it) is cloned into each, so no
// region writes the broadcast tensor out.
// CHECK-LABEL: func @shared_broadcast
// CHECK: %[[A:.*]] = weft.fused(%arg2, %arg0) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.broadcast_in_dim
// CHECK: weft.yield %{{.*}} : tensor<4x8xf32>
// CHECK: %[[M:.*]] = weft.matmul %[[A]], %arg1
// CHECK: weft.fused(%arg2, %[[M]]) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.broadcast_in_dim
func.func @shared_broadcast(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %bc = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %1 = weft.add %x, %bc : tensor<4x8xf32>
  %m = weft.matmul %1, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %3 = weft.add %m, %bc : tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

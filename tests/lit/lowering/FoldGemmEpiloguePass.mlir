// RUN: weft-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-elementwise,weft-fold-gemm-epilogue))' | FileCheck %s
// RUN: weft-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(weft-fuse-elementwise,weft-fold-gemm-epilogue,weft-plan-memory))' | FileCheck %s --check-prefix=PLAN

// Bias then tanh-GELU, keeping the pre-activation for later: cuBLASLt's
// GELU_AUX_BIAS. The matmul moves down to its fused user (past the exp of z)
// and is marked. The memory plan gives its product no bytes and keeps x
// alive through the fused op: the pre-activation (128 bytes) may not take
// x's bytes (256), so the arena is 384 bytes, not 256.
// CHECK-LABEL: func @bias_gelu_aux
// CHECK: weft.fused(%arg3)
// CHECK: %[[MM:.*]] = weft.matmul %{{.*}}, %arg1 {weft.gemm_epilogue = "bias+gelu_tanh"}
// CHECK-NEXT: weft.fused(%arg2, %[[MM]])
// PLAN-LABEL: func @bias_gelu_aux
// PLAN-SAME: weft.arena_bytes = 384
// PLAN: weft.fused(%arg0) {weft.offsets = array<i64: 0>}
// PLAN: weft.matmul %{{.*}}, %arg1 {weft.gemm_epilogue = "bias+gelu_tanh"} :
// PLAN: weft.fused(%arg2, %{{.*}}) {weft.offsets = array<i64: {{-1, 256|256, -1}}>}
func.func @bias_gelu_aux(%y: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>, %z: tensor<2x32xf32>) -> (tensor<4x8xf32>, tensor<32xf32>, tensor<2x32xf32>) {
  %x = weft.exp %y : tensor<4x16xf32>
  %0 = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %e = weft.exp %z : tensor<2x32xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %2 = weft.add %0, %1 : tensor<4x8xf32>
  %3 = weft.gelu %2 {approximate = "tanh"} : tensor<4x8xf32>
  %4 = weft.reshape %2 : tensor<4x8xf32> -> tensor<32xf32>
  %5 = weft.exp %4 : tensor<32xf32>
  return %3, %5, %e : tensor<4x8xf32>, tensor<32xf32>, tensor<2x32xf32>
}

// -----

// Bias on a batched product [2, 4, 8] (bias first in the add).
// CHECK-LABEL: func @bias
// CHECK: weft.matmul %arg0, %arg1 {weft.gemm_epilogue = "bias"}
func.func @bias(%x: tensor<2x4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<2x4x16xf32>, tensor<16x8xf32>) -> tensor<2x4x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [2] : tensor<8xf32> -> tensor<2x4x8xf32>
  %2 = weft.add %1, %0 : tensor<2x4x8xf32>
  return %2 : tensor<2x4x8xf32>
}

// -----

// Bias plus a residual, which cuBLASLt adds through its C operand.
// CHECK-LABEL: func @bias_residual
// CHECK: weft.matmul %arg0, %arg1 {weft.gemm_epilogue = "bias+residual"}
func.func @bias_residual(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>, %r: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %2 = weft.add %0, %1 : tensor<4x8xf32>
  %3 = weft.add %r, %2 : tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// -----

// The tanh-GELU gradient of the product: cuBLASLt's DGELU, pre as its aux.
// CHECK-LABEL: func @dgelu
// CHECK: weft.matmul %arg0, %arg1 {transpose_b = true, weft.gemm_epilogue = "dgelu_tanh"}
func.func @dgelu(%dy: tensor<4x16xf32>, %w: tensor<8x16xf32>, %pre: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %1 = weft.gelu_grad %pre, %0 {approximate = "tanh"} : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// The GELU gradient's row sum (the gradient of the bias before the GELU)
// comes with it: DGELU_BGRAD. The reduce moves up to right after the fused
// op (before the exp that came first), marked.
// CHECK-LABEL: func @dgelu_bgrad
// CHECK: %[[MM:.*]] = weft.matmul %arg0, %arg1 {transpose_b = true, weft.gemm_epilogue = "dgelu_tanh+bgrad"}
// CHECK-NEXT: %[[G:.*]] = weft.fused(%arg2, %[[MM]])
// CHECK: weft.yield
// CHECK-NEXT: }
// CHECK-NEXT: weft.reduce "sum" %[[G]], dims = [0, 1] {weft.gemm_epilogue = "bgrad"}
// CHECK-NEXT: weft.fused(%arg3)
func.func @dgelu_bgrad(%dy: tensor<2x4x16xf32>, %w: tensor<8x16xf32>, %pre: tensor<2x4x8xf32>, %y: tensor<3xf32>) -> (tensor<2x4x8xf32>, tensor<8xf32>, tensor<3xf32>) {
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<2x4x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8xf32>
  %1 = weft.gelu_grad %pre, %0 {approximate = "tanh"} : tensor<2x4x8xf32>
  %2 = weft.exp %y : tensor<3xf32>
  %3 = weft.reduce "sum" %1, dims = [0, 1] : tensor<2x4x8xf32> -> tensor<8xf32>
  return %1, %3, %2 : tensor<2x4x8xf32>, tensor<8xf32>, tensor<3xf32>
}

// -----

// The GEMM writes the bias gradient, so its bytes are taken from the
// matmul on: pre (256 bytes, last read by the fused op) cannot lend them.
// PLAN-LABEL: func @bgrad_plan
// PLAN-SAME: weft.arena_bytes = 320
// PLAN: weft.reduce "sum" %{{.*}}, dims = [0, 1] {weft.gemm_epilogue = "bgrad", weft.offsets = array<i64: 256>}
func.func @bgrad_plan(%dy: tensor<2x4x16xf32>, %w: tensor<8x16xf32>, %p: tensor<64xf32>) -> (tensor<2x4x8xf32>, tensor<8xf32>) {
  %e = weft.exp %p : tensor<64xf32>
  %pre = weft.reshape %e : tensor<64xf32> -> tensor<2x4x8xf32>
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<2x4x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8xf32>
  %1 = weft.gelu_grad %pre, %0 {approximate = "tanh"} : tensor<2x4x8xf32>
  %2 = weft.reduce "sum" %1, dims = [0, 1] : tensor<2x4x8xf32> -> tensor<8xf32>
  %3 = weft.exp %2 : tensor<8xf32>
  return %1, %3 : tensor<2x4x8xf32>, tensor<8xf32>
}

// -----

// A sum over other dims is not the bias gradient: DGELU alone.
// CHECK-LABEL: func @dgelu_other_sum
// CHECK: weft.gemm_epilogue = "dgelu_tanh"}
// CHECK: weft.reduce "sum"
// CHECK-NOT: bgrad
func.func @dgelu_other_sum(%dy: tensor<4x16xf32>, %w: tensor<8x16xf32>, %pre: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %1 = weft.gelu_grad %pre, %0 {approximate = "tanh"} : tensor<4x8xf32>
  %2 = weft.reduce "sum" %1, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// What cuBLASLt has no epilogue for stays as it was: the exact GELU, a bias
// along the wrong dimension, a product used twice, a relu, a scaled product.
// CHECK-LABEL: func @exact_gelu
// CHECK-NOT: weft.gemm_epilogue
func.func @exact_gelu(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<8x8xf32>
  %2 = weft.add %0, %1 : tensor<8x8xf32>
  %3 = weft.gelu %2 : tensor<8x8xf32>
  return %3 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @bias_along_rows
// CHECK-NOT: weft.gemm_epilogue
func.func @bias_along_rows(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [0] : tensor<8xf32> -> tensor<8x8xf32>
  %2 = weft.add %0, %1 : tensor<8x8xf32>
  return %2 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @product_used_twice
// CHECK-NOT: weft.gemm_epilogue
func.func @product_used_twice(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<8x8xf32>
  %2 = weft.add %0, %1 : tensor<8x8xf32>
  return %2, %0 : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @relu
// CHECK-NOT: weft.gemm_epilogue
func.func @relu(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<8x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<8x8xf32>
  %2 = weft.add %0, %1 : tensor<8x8xf32>
  %3 = weft.relu %2 : tensor<8x8xf32>
  return %3 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @scaled
// CHECK-NOT: weft.gemm_epilogue
func.func @scaled(%x: tensor<8x16xf32>, %w: tensor<16x8xf32>) -> tensor<8x8xf32> {
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.scale %0, 2.0 : tensor<8x8xf32>
  return %1 : tensor<8x8xf32>
}

// -----

// The gradient of the exact GELU, and gelu_grad with the product as x
// rather than dy: not what DGELU computes.
// CHECK-LABEL: func @dgelu_exact
// CHECK-NOT: weft.gemm_epilogue
func.func @dgelu_exact(%dy: tensor<4x16xf32>, %w: tensor<8x16xf32>, %pre: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %1 = weft.gelu_grad %pre, %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @dgelu_swapped
// CHECK-NOT: weft.gemm_epilogue
func.func @dgelu_swapped(%dy: tensor<4x16xf32>, %w: tensor<8x16xf32>, %g: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.matmul %dy, %w {transpose_b = true} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %1 = weft.gelu_grad %0, %g {approximate = "tanh"} : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

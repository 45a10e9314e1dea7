// Round trip of every op of the IR contract, in the custom form and through
// the generic form.
// RUN: weft-opt %s --split-input-file | FileCheck %s
// RUN: weft-opt %s --split-input-file --mlir-print-op-generic | weft-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func @constant
// CHECK: weft.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: weft.constant dense<0> : tensor<2x3xi32>
func.func @constant() -> (tensor<2xf32>, tensor<2x3xi32>) {
  %0 = weft.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = weft.constant dense<0> : tensor<2x3xi32>
  return %0, %1 : tensor<2xf32>, tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func @binary
// CHECK: weft.add %arg0, %arg1 : tensor<4x8xf32>
// CHECK: weft.sub %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.mul %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.div %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.max %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.min %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.pow %{{.*}}, %arg1 : tensor<4x8xf32>
// CHECK: weft.add %arg2, %arg2 : tensor<3xi32>
// CHECK: weft.max %arg3, %arg3 : tensor<2x2xbf16>
func.func @binary(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>, %i: tensor<3xi32>, %h: tensor<2x2xbf16>) -> tensor<4x8xf32> {
  %0 = weft.add %a, %b : tensor<4x8xf32>
  %1 = weft.sub %0, %b : tensor<4x8xf32>
  %2 = weft.mul %1, %b : tensor<4x8xf32>
  %3 = weft.div %2, %b : tensor<4x8xf32>
  %4 = weft.max %3, %b : tensor<4x8xf32>
  %5 = weft.min %4, %b : tensor<4x8xf32>
  %6 = weft.pow %5, %b : tensor<4x8xf32>
  %7 = weft.add %i, %i : tensor<3xi32>
  %8 = weft.max %h, %h : tensor<2x2xbf16>
  return %6 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @unary
// CHECK: weft.neg %arg0 : tensor<4xf32>
// CHECK: weft.exp %{{.*}} : tensor<4xf32>
// CHECK: weft.log %{{.*}} : tensor<4xf32>
// CHECK: weft.sqrt %{{.*}} : tensor<4xf32>
// CHECK: weft.rsqrt %{{.*}} : tensor<4xf32>
// CHECK: weft.tanh %{{.*}} : tensor<4xf32>
// CHECK: weft.sigmoid %{{.*}} : tensor<4xf32>
// CHECK: weft.relu %{{.*}} : tensor<4xf32>
// CHECK: weft.silu %{{.*}} : tensor<4xf32>
// CHECK: weft.gelu %{{.*}} : tensor<4xf32>
// CHECK: weft.gelu %{{.*}} {approximate = "tanh"} : tensor<4xf32>
// CHECK: weft.neg %arg1 : tensor<2xi64>
// CHECK: weft.relu %arg1 : tensor<2xi64>
func.func @unary(%x: tensor<4xf32>, %i: tensor<2xi64>) -> tensor<4xf32> {
  %0 = weft.neg %x : tensor<4xf32>
  %1 = weft.exp %0 : tensor<4xf32>
  %2 = weft.log %1 : tensor<4xf32>
  %3 = weft.sqrt %2 : tensor<4xf32>
  %4 = weft.rsqrt %3 : tensor<4xf32>
  %5 = weft.tanh %4 : tensor<4xf32>
  %6 = weft.sigmoid %5 : tensor<4xf32>
  %7 = weft.relu %6 : tensor<4xf32>
  %8 = weft.silu %7 : tensor<4xf32>
  %9 = weft.gelu %8 : tensor<4xf32>
  %10 = weft.gelu %9 {approximate = "tanh"} : tensor<4xf32>
  %11 = weft.neg %i : tensor<2xi64>
  %12 = weft.relu %i : tensor<2xi64>
  return %10 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @cast
// CHECK: weft.cast %arg0 : tensor<4x8xf32> to tensor<4x8xbf16>
// CHECK: weft.cast %arg1 : tensor<3xi64> to tensor<3xi32>
// CHECK: weft.cast %{{.*}} : tensor<3xi32> to tensor<3xf16>
func.func @cast(%x: tensor<4x8xf32>, %i: tensor<3xi64>) -> tensor<4x8xbf16> {
  %0 = weft.cast %x : tensor<4x8xf32> to tensor<4x8xbf16>
  %1 = weft.cast %i : tensor<3xi64> to tensor<3xi32>
  %2 = weft.cast %1 : tensor<3xi32> to tensor<3xf16>
  return %0 : tensor<4x8xbf16>
}

// -----

// CHECK-LABEL: func @broadcast_in_dim
// CHECK: weft.broadcast_in_dim %arg0, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
// CHECK: weft.broadcast_in_dim %arg1, dims = [0, 2] : tensor<4x1xf32> -> tensor<4x3x5xf32>
// CHECK: weft.broadcast_in_dim %arg2, dims = [] : tensor<f32> -> tensor<2x2xf32>
func.func @broadcast_in_dim(%b: tensor<8xf32>, %c: tensor<4x1xf32>, %s: tensor<f32>) -> tensor<4x8xf32> {
  %0 = weft.broadcast_in_dim %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %1 = weft.broadcast_in_dim %c, dims = [0, 2] : tensor<4x1xf32> -> tensor<4x3x5xf32>
  %2 = weft.broadcast_in_dim %s, dims = [] : tensor<f32> -> tensor<2x2xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @layout
// CHECK: weft.reshape %arg0 : tensor<2x3x4xf32> -> tensor<6x4xf32>
// CHECK: weft.transpose %arg0, perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK: weft.slice %arg0, start = [0, 1, 0], limit = [2, 3, 2] : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
// CHECK: weft.concat %arg0, %arg1 dim = 1 : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
// CHECK: weft.concat %arg0, %arg0 dim = -1 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
func.func @layout(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>) -> tensor<6x4xf32> {
  %0 = weft.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = weft.transpose %x, perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = weft.slice %x, start = [0, 1, 0], limit = [2, 3, 2] : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  %3 = weft.concat %x, %y dim = 1 : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  %4 = weft.concat %x, %x dim = -1 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
  return %0 : tensor<6x4xf32>
}

// -----

// CHECK-LABEL: func @matmul
// CHECK: weft.matmul %arg0, %arg1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: weft.matmul %arg2, %arg1 : (tensor<2x4x8xf32>, tensor<8x16xf32>) -> tensor<2x4x16xf32>
// CHECK: weft.matmul %arg2, %arg2 {transpose_b = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
// CHECK: weft.matmul %arg0, %arg0 {transpose_a = true} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
func.func @matmul(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %x: tensor<2x4x8xf32>) -> tensor<4x16xf32> {
  %0 = weft.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = weft.matmul %x, %w : (tensor<2x4x8xf32>, tensor<8x16xf32>) -> tensor<2x4x16xf32>
  %2 = weft.matmul %x, %x {transpose_b = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %3 = weft.matmul %a, %a {transpose_a = true} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func @reduce
// CHECK: weft.reduce "sum" %arg0, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
// CHECK: weft.reduce "max" %arg0, dims = [0, 1] : tensor<4x8xf32> -> tensor<f32>
// CHECK: weft.reduce "mean" %arg0, dims = [1] {keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
func.func @reduce(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %0 = weft.reduce "sum" %x, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
  %1 = weft.reduce "max" %x, dims = [0, 1] : tensor<4x8xf32> -> tensor<f32>
  %2 = weft.reduce "mean" %x, dims = [1] {keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @softmax
// CHECK: weft.softmax %arg0 : tensor<4x8xf32>
// CHECK: weft.softmax %arg0 {dim = 0 : i64} : tensor<4x8xf32>
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.softmax %x : tensor<4x8xf32>
  %1 = weft.softmax %x {dim = 0} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @norms
// CHECK: weft.layer_norm %arg0, %arg1, %arg1 : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
// CHECK: weft.layer_norm %arg0, %arg1, %arg1 {eps = 9.99999997E-7 : f32}
// CHECK: weft.rms_norm %arg0, %arg1 : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
func.func @norms(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>) -> tensor<2x4x8xf32> {
  %0 = weft.layer_norm %x, %g, %g : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %1 = weft.layer_norm %x, %g, %g {eps = 1.0e-6 : f32} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %2 = weft.rms_norm %x, %g : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

// CHECK-LABEL: func @embedding
// CHECK: weft.embedding %arg0, %arg1 : (tensor<100x16xf32>, tensor<2x5xi32>) -> tensor<2x5x16xf32>
// CHECK: weft.embedding %arg0, %arg2 : (tensor<100x16xf32>, tensor<7xi64>) -> tensor<7x16xf32>
func.func @embedding(%t: tensor<100x16xf32>, %ids: tensor<2x5xi32>, %ids64: tensor<7xi64>) -> tensor<2x5x16xf32> {
  %0 = weft.embedding %t, %ids : (tensor<100x16xf32>, tensor<2x5xi32>) -> tensor<2x5x16xf32>
  %1 = weft.embedding %t, %ids64 : (tensor<100x16xf32>, tensor<7xi64>) -> tensor<7x16xf32>
  return %0 : tensor<2x5x16xf32>
}

// -----

// CHECK-LABEL: func @attention
// CHECK: weft.attention %arg0, %arg0, %arg0 {causal = true} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
// CHECK: weft.attention %arg1, %arg0, %arg0 {scale = 5.000000e-01 : f32} : (tensor<2x4x3x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x3x16xf32>
func.func @attention(%q: tensor<2x4x8x16xf32>, %q3: tensor<2x4x3x16xf32>) -> tensor<2x4x8x16xf32> {
  %0 = weft.attention %q, %q, %q {causal = true} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %1 = weft.attention %q3, %q, %q {scale = 0.5 : f32} : (tensor<2x4x3x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x3x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// CHECK-LABEL: func @cross_entropy
// CHECK: weft.cross_entropy %arg0, %arg1 : (tensor<2x5x10xf32>, tensor<2x5xi32>) -> tensor<f32>
func.func @cross_entropy(%logits: tensor<2x5x10xf32>, %labels: tensor<2x5xi32>) -> tensor<f32> {
  %0 = weft.cross_entropy %logits, %labels : (tensor<2x5x10xf32>, tensor<2x5xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// The generic form, with inherent attributes in the dictionary, parses too.
// CHECK-LABEL: func @generic
// CHECK: weft.matmul %arg0, %arg1 {transpose_b = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
// CHECK: weft.reduce "sum" %{{.*}}, dims = [0] : tensor<4x16xf32> -> tensor<16xf32>
func.func @generic(%a: tensor<4x8xf32>, %b: tensor<16x8xf32>) -> tensor<16xf32> {
  %0 = "weft.matmul"(%a, %b) {transpose_b = true} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %1 = "weft.reduce"(%0) <{kind = "sum", dims = array<i64: 0>}> : (tensor<4x16xf32>) -> tensor<16xf32>
  return %1 : tensor<16xf32>
}

// -----

// Negative reduce dims count from the end; an elementwise op may spell out
// `operand -> result` types.
// CHECK-LABEL: func @spellings
// CHECK: weft.reduce "sum" %arg0, dims = [-1] : tensor<4x8xf32> -> tensor<4xf32>
// CHECK: weft.add %arg0, %arg0 : tensor<4x8xf32>
func.func @spellings(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %0 = weft.reduce "sum" %x, dims = [-1] : tensor<4x8xf32> -> tensor<4xf32>
  %1 = weft.add %x, %x : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4xf32>
}

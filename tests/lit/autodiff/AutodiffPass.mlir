// RUN: weft-opt %s --split-input-file --weft-autodiff | FileCheck %s

// A linear layer with a bias and a cross-entropy loss: the textbook rules.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<4x3xf32> {weft.grad = "w"}, tensor<3xf32> {weft.grad = "b"})
// CHECK: %[[MM:.*]] = weft.matmul %arg0, %arg2
// CHECK: %[[LOGITS:.*]] = weft.add %[[MM]], %[[BB:.*]] : tensor<2x3xf32>
// CHECK: %[[LOSS:.*]] = weft.cross_entropy %[[LOGITS]], %arg1
// CHECK: %[[ONE:.*]] = weft.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DL:.*]] = weft.cross_entropy_grad %[[LOGITS]], %arg1, %[[ONE]]
// The bias gradient sums the broadcast dimension away.
// CHECK: %[[DB:.*]] = weft.reduce "sum" %[[DL]], dims = [0] : tensor<2x3xf32> -> tensor<3xf32>
// The weight gradient is x^T dlogits.
// CHECK: %[[DW:.*]] = weft.matmul %arg0, %[[DL]] {transpose_a = true} : (tensor<2x4xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: return %[[LOSS]], %[[DW]], %[[DB]]
// @forward is kept for inference.
// CHECK-LABEL: func.func @forward
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %y: tensor<2xi32> {weft.input = "y"},
                   %w: tensor<4x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}},
                   %b: tensor<3xf32> {weft.param = "b", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = weft.broadcast_in_dim %b, dims = [1] : tensor<3xf32> -> tensor<2x3xf32>
  %2 = weft.add %0, %1 : tensor<2x3xf32>
  %3 = weft.cross_entropy %2, %y : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// A parameter used twice gets the sum of both adjoints; one the loss does not
// reach gets zeros (a broadcast scalar, not a big constant).
// CHECK-LABEL: func.func @train_step
// CHECK: %[[PX:.*]] = weft.mul %arg1, %arg0
// CHECK: %[[DY:.*]] = weft.broadcast_in_dim %{{.*}}, dims = [] : tensor<f32> -> tensor<2x3xf32>
// CHECK: %[[DYP:.*]] = weft.mul %[[DY]], %arg1
// CHECK: %[[G2:.*]] = weft.mul %[[DY]], %[[PX]]
// CHECK: %[[G1:.*]] = weft.mul %[[DYP]], %arg0
// CHECK: %[[SUM:.*]] = weft.add %[[G2]], %[[G1]]
// CHECK: %[[Z:.*]] = weft.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[ZEROS:.*]] = weft.broadcast_in_dim %[[Z]], dims = [] : tensor<f32> -> tensor<5xf32>
// CHECK: return %{{.*}}, %[[SUM]], %[[ZEROS]]
func.func @forward(%x: tensor<2x3xf32> {weft.input = "x"},
                   %p: tensor<2x3xf32> {weft.param = "p", weft.init = {dist = "ones"}},
                   %unused: tensor<5xf32> {weft.param = "unused", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.mul %p, %x : tensor<2x3xf32>
  %1 = weft.mul %0, %p : tensor<2x3xf32>
  %2 = weft.reduce "sum" %1, dims = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// Layer norm, attention and embedding have their own gradient ops; slicing
// pads, transposing transposes back.
// CHECK-LABEL: func.func @train_step
// CHECK-DAG: weft.embedding_grad %arg0, %{{.*}}, vocab = 10
// CHECK-DAG: weft.layer_norm_grad
// CHECK-DAG: weft.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal = true}
// CHECK-DAG: weft.transpose %{{.*}}, perm = [0, 2, 1, 3]
// CHECK-DAG: weft.pad %{{.*}}, low = [0, 0, 0], high = [0, 0, 4]
func.func @forward(%ids: tensor<1x4xi32> {weft.input = "ids"},
                   %t: tensor<10x8xf32> {weft.param = "t", weft.init = {dist = "normal", std = 0.1 : f32}},
                   %g: tensor<8xf32> {weft.param = "g", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.embedding %t, %ids : (tensor<10x8xf32>, tensor<1x4xi32>) -> tensor<1x4x8xf32>
  %1 = weft.layer_norm %0, %g, %g : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %2 = weft.slice %1, start = [0, 0, 0], limit = [1, 4, 4] : tensor<1x4x8xf32> -> tensor<1x4x4xf32>
  %3 = weft.reshape %2 : tensor<1x4x4xf32> -> tensor<1x4x2x2xf32>
  %4 = weft.transpose %3, perm = [0, 2, 1, 3] : tensor<1x4x2x2xf32> -> tensor<1x2x4x2xf32>
  %5 = weft.attention %4, %4, %4 {causal = true} : (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> tensor<1x2x4x2xf32>
  %6 = weft.reduce "mean" %5, dims = [0, 1, 2, 3] : tensor<1x2x4x2xf32> -> tensor<f32>
  return %6 : tensor<f32>
}

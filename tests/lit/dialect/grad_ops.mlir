// Round trip of the gradient, optimizer and lowered ops (what the passes
// emit), in the custom form and through the generic form.
// RUN: weft-opt %s --split-input-file | FileCheck %s
// RUN: weft-opt %s --split-input-file --mlir-print-op-generic | weft-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func @elementwise_grads
// CHECK: weft.relu_grad %arg0, %arg1 : tensor<4xf32>
// CHECK: weft.silu_grad %arg0, %arg1 : tensor<4xf32>
// CHECK: weft.sigmoid_grad %arg0, %arg1 : tensor<4xf32>
// CHECK: weft.tanh_grad %arg0, %arg1 : tensor<4xf32>
// CHECK: weft.gelu_grad %arg0, %arg1 {approximate = "tanh"} : tensor<4xf32>
// CHECK: weft.max_grad %arg0, %arg1, %arg1 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: weft.min_grad %arg0, %arg1, %arg1 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: weft.scale %arg0, -5.000000e-01 : tensor<4xf32>
func.func @elementwise_grads(%x: tensor<4xf32>, %dy: tensor<4xf32>) {
  %0 = weft.relu_grad %x, %dy : tensor<4xf32>
  %1 = weft.silu_grad %x, %dy : tensor<4xf32>
  %2 = weft.sigmoid_grad %x, %dy : tensor<4xf32>
  %3 = weft.tanh_grad %x, %dy : tensor<4xf32>
  %4 = weft.gelu_grad %x, %dy {approximate = "tanh"} : tensor<4xf32>
  %5 = weft.max_grad %x, %dy, %dy : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %6 = weft.min_grad %x, %dy, %dy : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %7 = weft.scale %x, -0.5 : tensor<4xf32>
  return
}

// -----

// CHECK-LABEL: func @structured_grads
// CHECK: weft.pad %arg0, low = [1, 0], high = [0, 2] : tensor<2x3xf32> -> tensor<3x5xf32>
// CHECK: weft.softmax_grad %arg0, %arg0 : tensor<2x3xf32>
// CHECK: weft.layer_norm_grad %arg0, %arg1, %arg0 : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: weft.rms_norm_grad %arg0, %arg1, %arg0 : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>)
// CHECK: weft.embedding_grad %arg2, %arg0, vocab = 7 : (tensor<2xi32>, tensor<2x3xf32>) -> tensor<7x3xf32>
// CHECK: weft.cross_entropy_grad %arg0, %arg2, %arg3 : (tensor<2x3xf32>, tensor<2xi32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: weft.attention_grad %arg4, %arg4, %arg4, %arg4 {causal = true} : {{.*}} -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
func.func @structured_grads(%x: tensor<2x3xf32>, %g: tensor<3xf32>, %ids: tensor<2xi32>, %dl: tensor<f32>, %q: tensor<1x2x4x8xf32>) {
  %0 = weft.pad %x, low = [1, 0], high = [0, 2] : tensor<2x3xf32> -> tensor<3x5xf32>
  %1 = weft.softmax_grad %x, %x : tensor<2x3xf32>
  %2:3 = weft.layer_norm_grad %x, %g, %x : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
  %3:2 = weft.rms_norm_grad %x, %g, %x : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>)
  %4 = weft.embedding_grad %ids, %x, vocab = 7 : (tensor<2xi32>, tensor<2x3xf32>) -> tensor<7x3xf32>
  %5 = weft.cross_entropy_grad %x, %ids, %dl : (tensor<2x3xf32>, tensor<2xi32>, tensor<f32>) -> tensor<2x3xf32>
  %6:3 = weft.attention_grad %q, %q, %q, %q {causal = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  return
}

// -----

// CHECK-LABEL: func @updates
// CHECK: weft.sgd_update %arg0, %arg0, %arg0, %arg1 {lr = 1.000000e-01 : f32, momentum = 0.899999976 : f32, weight_decay = 0.000000e+00 : f32}
// CHECK: weft.adamw_update %arg0, %arg0, %arg0, %arg0, %arg1 {beta1 = 0.899999976 : f32
func.func @updates(%p: tensor<4xf32>, %t: tensor<f32>) {
  %0:2 = weft.sgd_update %p, %p, %p, %t {lr = 0.1 : f32, momentum = 0.9 : f32, weight_decay = 0.0 : f32} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>)
  %1:3 = weft.adamw_update %p, %p, %p, %p, %t {lr = 0.001 : f32, beta1 = 0.9 : f32, beta2 = 0.999 : f32, eps = 1.0e-8 : f32, weight_decay = 0.01 : f32} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

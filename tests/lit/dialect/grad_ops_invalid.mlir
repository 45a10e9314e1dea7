// RUN: weft-opt %s --split-input-file --verify-diagnostics

func.func @pad_negative(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{dimension 0: padding must not be negative}}
  %0 = weft.pad %x, low = [-1, 0], high = [0, 0] : tensor<2x3xf32> -> tensor<1x3xf32>
  return
}

// -----

func.func @embedding_grad_shape(%ids: tensor<2xi32>, %dy: tensor<3x4xf32>) {
  // expected-error @+1 {{operand #1 (dy) has shape [3, 4] but must be the ids' shape [2] plus the row width}}
  %0 = weft.embedding_grad %ids, %dy, vocab = 7 : (tensor<2xi32>, tensor<3x4xf32>) -> tensor<7x4xf32>
  return
}

// -----

func.func @adamw_state(%p: tensor<4xf32>, %m: tensor<5xf32>, %t: tensor<f32>) {
  // expected-error @+1 {{operand #1 (rhs) has type 'tensor<5xf32>' but operand #0 (lhs) has type 'tensor<4xf32>'}}
  %0:3 = weft.adamw_update %p, %p, %m, %p, %t {lr = 0.001 : f32, beta1 = 0.9 : f32, beta2 = 0.999 : f32, eps = 1.0e-8 : f32, weight_decay = 0.01 : f32} : (tensor<4xf32>, tensor<4xf32>, tensor<5xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<5xf32>, tensor<4xf32>)
  return
}

// -----

func.func @attention_grad_dy(%q: tensor<1x2x4x8xf32>, %dy: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{operand #3 (dy) has type 'tensor<1x2x4x4xf32>' but the attention's result is 'tensor<1x2x4x8xf32>'}}
  %0:3 = weft.attention_grad %q, %q, %q, %dy : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
  return
}

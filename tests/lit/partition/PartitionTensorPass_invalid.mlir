// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=3 --verify-diagnostics

// expected-error @+1 {{--tp-style=megatron found nothing to split}}
func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"}) -> (tensor<4x8xf32> {weft.output = "y"}) {
  %0 = weft.relu %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"},
                   %w1: tensor<8x16xf32> {weft.param = "w1", weft.init = {dist = "zeros"}},
                   %w2: tensor<16x8xf32> {weft.param = "w2", weft.init = {dist = "zeros"}})
    -> (tensor<4x8xf32> {weft.output = "y"}) {
  // expected-error @+1 {{the hidden width 16 is not divisible by tp=3}}
  %0 = weft.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = weft.relu %0 : tensor<4x16xf32>
  %2 = weft.matmul %1, %w2 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// Attention: each device takes whole heads, so tp must divide them.
func.func @forward(%x: tensor<2x4x8xf32> {weft.input = "x"},
                   %wq: tensor<8x8xf32> {weft.param = "wq", weft.init = {dist = "zeros"}},
                   %wk: tensor<8x8xf32> {weft.param = "wk", weft.init = {dist = "zeros"}},
                   %wv: tensor<8x8xf32> {weft.param = "wv", weft.init = {dist = "zeros"}},
                   %wo: tensor<8x8xf32> {weft.param = "wo", weft.init = {dist = "zeros"}})
    -> (tensor<2x4x8xf32> {weft.output = "y"}) {
  %q = weft.matmul %x, %wq : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %q1 = weft.reshape %q : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %q2 = weft.transpose %q1, perm = [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  %k = weft.matmul %x, %wk : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %k1 = weft.reshape %k : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %k2 = weft.transpose %k1, perm = [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  %v = weft.matmul %x, %wv : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %v1 = weft.reshape %v : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %v2 = weft.transpose %v1, perm = [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  // expected-error @+1 {{the attention has 2 heads, not divisible by tp=3 (each device takes whole heads)}}
  %a = weft.attention %q2, %k2, %v2 : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %b = weft.transpose %a, perm = [0, 2, 1, 3] : tensor<2x2x4x4xf32> -> tensor<2x4x2x4xf32>
  %c = weft.reshape %b : tensor<2x4x2x4xf32> -> tensor<2x4x8xf32>
  %y = weft.matmul %c, %wo : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=3 --verify-diagnostics

// expected-error @+1 {{--tp-style=megatron found no MLP block to split}}
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

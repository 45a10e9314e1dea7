// RUN: weft-opt %s --split-input-file --weft-partition-batch=dp=3 --verify-diagnostics

func.func @forward(
    // expected-error @+1 {{the batch of input 'x' (8) is not divisible by dp=3}}
    %x: tensor<8x4xf32> {weft.input = "x"}) -> (tensor<8x4xf32> {weft.output = "y"}) {
  return %x : tensor<8x4xf32>
}

// -----

func.func @forward(%x: tensor<6x4xf32> {weft.input = "x"}, %w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "ones"}})
    -> (tensor<4xf32> {weft.output = "y"}) {
  // expected-error @+1 {{cannot split the batch over dp=3: a reduction over the batch dimension is not supported yet}}
  %0 = weft.reduce "sum" %x, dims = [0] : tensor<6x4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @forward(%x: tensor<6x4xf32> {weft.input = "x"}) -> (tensor<4x6xf32> {weft.output = "y"}) {
  // expected-error @+1 {{cannot split the batch over dp=3: a transpose that moves the batch dimension is not supported yet}}
  %0 = weft.transpose %x, perm = [1, 0] : tensor<6x4xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @forward(
    %x: tensor<6x4xf32> {weft.input = "x"},
    // expected-error @+1 {{input 'y' has batch 3 but the other inputs have 6; data parallelism splits one batch}}
    %y: tensor<3xi32> {weft.input = "y"}) -> (tensor<6x4xf32> {weft.output = "z"}) {
  return %x : tensor<6x4xf32>
}

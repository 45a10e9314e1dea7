// RUN: weft-opt %s --split-input-file --weft-partition-annotated="dp=2 tp=2" --verify-diagnostics

// Parameters split over dp (ZeRO-3 style) are not laid out by the runtime.
func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"},
                   // expected-error @+1 {{parameter 'w' would be split along dimension 0 over dp}}
                   %w: tensor<8x8xf32> {weft.param = "w", weft.init = {dist = "zeros"}, weft.sharding = "dp:0"})
    -> (tensor<4x8xf32> {weft.output = "y"}) {
  %y = weft.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"},
                   // expected-error @+1 {{'weft.sharding' entry 'tp:2' names dimension '2' of a rank-2 tensor}}
                   %w: tensor<8x8xf32> {weft.param = "w", weft.init = {dist = "zeros"}, weft.sharding = "tp:2"})
    -> (tensor<4x8xf32> {weft.output = "y"}) {
  %y = weft.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @forward(%x: tensor<4x8xf32> {weft.input = "x"},
                   %w: tensor<8x8xf32> {weft.param = "w", weft.init = {dist = "zeros"}})
    -> (tensor<4x8xf32> {weft.output = "y"}) {
  // expected-error @+1 {{'weft.sharding' entry 'pp:1' must be dp:<dim> or tp:<dim> (or "replicated")}}
  %y = weft.matmul %x, %w {weft.sharding = "pp:1"} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @forward(%x: tensor<4x6xf32> {weft.input = "x"},
                   // expected-error @+1 {{parameter 'w' has dimension 1 of 3, not divisible by tp=2}}
                   %w: tensor<6x3xf32> {weft.param = "w", weft.init = {dist = "zeros"}, weft.sharding = "tp:1"})
    -> (tensor<4x3xf32> {weft.output = "y"}) {
  %y = weft.matmul %x, %w : (tensor<4x6xf32>, tensor<6x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// What weft-verify-model rejects: the checks that need the whole function.
// RUN: weft-opt %s --split-input-file --weft-verify-model --verify-diagnostics

module {
  // expected-error @+1 {{a Weft model must hold 'func.func @forward'; none was found}}
  func.func @main() {
    return
  }
}

// -----

// expected-error @+1 {{@forward must have a body}}
func.func private @forward(tensor<4xf32>)

// -----

func.func @forward(
    %x: tensor<4xf32> {weft.input = "x"},
    // expected-error @+1 {{argument #1 of @forward is neither an input nor a parameter}}
    %y: tensor<4xf32>) -> (tensor<4xf32> {weft.output = "y"}) {
  return %x : tensor<4xf32>
}

// -----

func.func @forward(
    // expected-note @+1 {{'x' was first declared here}}
    %x: tensor<4xf32> {weft.input = "x"},
    // expected-error @+1 {{duplicate name 'x' for argument #1; names of inputs and parameters must be unique}}
    %w: tensor<4xf32> {weft.param = "x", weft.init = {dist = "ones"}}) -> (tensor<4xf32> {weft.output = "y"}) {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{duplicate output name 'y' on results #0 and #1}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}) -> (tensor<4xf32> {weft.output = "y"}, tensor<4xf32> {weft.output = "y"}) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{result #0 of @forward has no name; mark it {weft.output = "name"}}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{2 results are marked 'weft.loss'; at most one may be}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}, %s: tensor<f32> {weft.param = "s", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.output = "a", weft.loss}, tensor<f32> {weft.output = "b", weft.loss}) {
  return %s, %s : tensor<f32>, tensor<f32>
}

// -----

func.func @forward(
    // expected-error @+1 {{input 'x' has type 'tensor<f32>'; inputs need a batch dimension (dimension 0)}}
    %x: tensor<f32> {weft.input = "x"}) -> (tensor<f32> {weft.output = "y"}) {
  return %x : tensor<f32>
}

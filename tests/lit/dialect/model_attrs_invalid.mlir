// The argument and result markers of the model contract, checked wherever
// IR is parsed.
// RUN: weft-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{parameter 'w' (argument #0) has no 'weft.init'}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w"}) {
  return
}

// -----

// expected-error @+1 {{'weft.param' must be a non-empty string naming the parameter, got ""}}
func.func @forward(%w: tensor<4xf32> {weft.param = "", weft.init = {dist = "zeros"}}) {
  return
}

// -----

// expected-error @+1 {{'weft.input' must be a non-empty string naming the input, got unit}}
func.func @forward(%x: tensor<4xf32> {weft.input}) {
  return
}

// -----

// expected-error @+1 {{argument #0 is marked both 'weft.input' and 'weft.param'}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x", weft.param = "x", weft.init = {dist = "zeros"}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' has unknown dist "gaussian"; expected zeros, ones, normal or uniform}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "gaussian", std = 0.02 : f32}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' with dist "normal" needs a positive 'std'}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "normal"}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' field 'std' does not apply to dist "uniform"}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "uniform", std = 1.0}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' with dist "uniform" needs 'low' < 'high'}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "uniform", low = 1.0, high = 0.5}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' field 'mean' must be a number, got "zero"}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {dist = "normal", std = 1.0, mean = "zero"}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' needs a string field 'dist'}}
func.func @forward(%w: tensor<4xf32> {weft.param = "w", weft.init = {std = 1.0}}) {
  return
}

// -----

// expected-error @+1 {{'weft.init' on argument #0, which is not a 'weft.param'}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x", weft.init = {dist = "zeros"}}) {
  return
}

// -----

// expected-error @+1 {{unknown weft argument attribute 'weft.parameter'; expected weft.input, weft.param or weft.init}}
func.func @forward(%x: tensor<4xf32> {weft.parameter = "x"}) {
  return
}

// -----

// expected-error @+1 {{'weft.loss' marks result #0 of type 'tensor<4xf32>'; the loss must be a scalar tensor<f32>}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}) -> (tensor<4xf32> {weft.output = "l", weft.loss}) {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{'weft.output' must be a non-empty string naming the output, got 3 : i64}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}) -> (tensor<4xf32> {weft.output = 3}) {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{unknown weft result attribute 'weft.outputs'; expected weft.output or weft.loss}}
func.func @forward(%x: tensor<4xf32> {weft.input = "x"}) -> (tensor<4xf32> {weft.outputs = "y"}) {
  return %x : tensor<4xf32>
}

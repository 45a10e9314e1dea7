// RUN: weft-opt %s --split-input-file --weft-autodiff --verify-diagnostics

// expected-error @+1 {{training needs a scalar result marked {weft.loss}; @forward has none}}
func.func @forward(%x: tensor<2xf32> {weft.input = "x"}, %p: tensor<2xf32> {weft.param = "p", weft.init = {dist = "ones"}})
    -> (tensor<2xf32> {weft.output = "y"}) {
  %0 = weft.mul %x, %p : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// expected-error @+1 {{the loss does not depend on any parameter}}
func.func @forward(%x: tensor<2xf32> {weft.input = "x"}, %p: tensor<2xf32> {weft.param = "p", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.reduce "sum" %x, dims = [0] : tensor<2xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// An op without a gradient rule is named at its location.
func.func @forward(%x: tensor<2x2xf32> {weft.input = "x"}, %p: tensor<2x2xf32> {weft.param = "p", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.mul %x, %p : tensor<2x2xf32>
  // expected-error @+1 {{cannot differentiate 'weft.fused': it has no gradient rule}}
  %1 = weft.fused(%0) : (tensor<2x2xf32>) -> tensor<2x2xf32> {
  ^bb0(%a: tensor<2x2xf32>):
    %2 = weft.exp %a : tensor<2x2xf32>
    weft.yield %2 : tensor<2x2xf32>
  }
  %3 = weft.reduce "sum" %1, dims = [0, 1] : tensor<2x2xf32> -> tensor<f32>
  return %3 : tensor<f32>
}

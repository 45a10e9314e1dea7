// RUN: weft-opt %s --split-input-file --weft-partition-tensor=tp=2 --verify-diagnostics

// An LSTM cell of H = 3 hidden units: each device would take 3/2 of a gate.
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %labels: tensor<2xi32> {weft.input = "labels"},
                   %wih: tensor<4x12xf32> {weft.param = "lstm.0.w_ih", weft.init = {dist = "zeros"}},
                   %head: tensor<3x8xf32> {weft.param = "head", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.loss, weft.output = "loss"}) {
  // expected-error @+1 {{the LSTM weight 'lstm.0.w_ih' 'tensor<4x12xf32>' holds 4 gates of 3 hidden units along dimension 1; 3 is not divisible by tp=2}}
  %g = weft.matmul %x, %wih : (tensor<2x4xf32>, tensor<4x12xf32>) -> tensor<2x12xf32>
  %i0 = weft.slice %g, start = [0, 0], limit = [2, 3] : tensor<2x12xf32> -> tensor<2x3xf32>
  %f0 = weft.slice %g, start = [0, 3], limit = [2, 6] : tensor<2x12xf32> -> tensor<2x3xf32>
  %g0 = weft.slice %g, start = [0, 6], limit = [2, 9] : tensor<2x12xf32> -> tensor<2x3xf32>
  %o0 = weft.slice %g, start = [0, 9], limit = [2, 12] : tensor<2x12xf32> -> tensor<2x3xf32>
  %i = weft.sigmoid %i0 : tensor<2x3xf32>
  %gg = weft.tanh %g0 : tensor<2x3xf32>
  %o = weft.sigmoid %o0 : tensor<2x3xf32>
  %c = weft.mul %i, %gg : tensor<2x3xf32>
  %tc = weft.tanh %c : tensor<2x3xf32>
  %h = weft.mul %o, %tc : tensor<2x3xf32>
  %logits = weft.matmul %h, %head : (tensor<2x3xf32>, tensor<3x8xf32>) -> tensor<2x8xf32>
  %loss = weft.cross_entropy %logits, %labels : (tensor<2x8xf32>, tensor<2xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// H = 4 splits, but the vocabulary (7) does not, so the head stays whole:
// its input gradient is whole on every device, and the gather's
// reduce-scatter would count it twice.
func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"}, %labels: tensor<2xi32> {weft.input = "labels"},
                   %wih: tensor<4x16xf32> {weft.param = "lstm.0.w_ih", weft.init = {dist = "zeros"}},
                   // expected-warning @+1 {{the vocabulary of 'head' (dimension 1, 7) is not divisible by tp=2}}
                   %head: tensor<4x7xf32> {weft.param = "head", weft.init = {dist = "zeros"}})
    -> (tensor<f32> {weft.loss, weft.output = "loss"}) {
  %g = weft.matmul %x, %wih : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
  %i0 = weft.slice %g, start = [0, 0], limit = [2, 4] : tensor<2x16xf32> -> tensor<2x4xf32>
  %f0 = weft.slice %g, start = [0, 4], limit = [2, 8] : tensor<2x16xf32> -> tensor<2x4xf32>
  %g0 = weft.slice %g, start = [0, 8], limit = [2, 12] : tensor<2x16xf32> -> tensor<2x4xf32>
  %o0 = weft.slice %g, start = [0, 12], limit = [2, 16] : tensor<2x16xf32> -> tensor<2x4xf32>
  %i = weft.sigmoid %i0 : tensor<2x4xf32>
  %gg = weft.tanh %g0 : tensor<2x4xf32>
  %o = weft.sigmoid %o0 : tensor<2x4xf32>
  %c = weft.mul %i, %gg : tensor<2x4xf32>
  %tc = weft.tanh %c : tensor<2x4xf32>
  %h = weft.mul %o, %tc : tensor<2x4xf32>
  // expected-error @+1 {{feeds this op, which tensor parallelism leaves whole}}
  %logits = weft.matmul %h, %head : (tensor<2x4xf32>, tensor<4x7xf32>) -> tensor<2x7xf32>
  %loss = weft.cross_entropy %logits, %labels : (tensor<2x7xf32>, tensor<2xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}

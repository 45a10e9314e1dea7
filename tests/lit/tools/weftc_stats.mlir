// weftc --stats on a model whose numbers are worked out by hand:
//   parameters: w1 4x8 + b1 8 + w2 8x3 = 32 + 8 + 24 = 64 floats = 256 bytes
//   FLOPs: matmul 2*2*8*4 = 128, broadcast 0, add 16, gelu 8*16 = 128,
//          matmul 2*2*3*8 = 96, cross_entropy 5*6 = 30  -> 398
// RUN: weftc %s --stats | FileCheck %s
// RUN: weftc %s --stats --json | FileCheck %s --check-prefix=JSON
// RUN: weftc %s | FileCheck %s --check-prefix=PLAIN

// CHECK: inputs:
// CHECK-NEXT:   x: tensor<2x4xf32>
// CHECK-NEXT:   y: tensor<2xi32>
// CHECK: outputs:
// CHECK-NEXT:   loss (loss): tensor<f32>
// CHECK: parameters: 64 in 3 tensors, 256 bytes
// CHECK: ops: 6
// CHECK: forward FLOPs: 398 (398.00 FLOP)

// JSON: "forward_flops": 398
// JSON: "parameter_bytes": 256
// JSON: "parameter_count": 64

// PLAIN: a valid Weft model

func.func @forward(%x: tensor<2x4xf32> {weft.input = "x"},
                   %y: tensor<2xi32> {weft.input = "y"},
                   %w1: tensor<4x8xf32> {weft.param = "w1", weft.init = {dist = "normal", std = 0.5 : f32}},
                   %b1: tensor<8xf32> {weft.param = "b1", weft.init = {dist = "zeros"}},
                   %w2: tensor<8x3xf32> {weft.param = "w2", weft.init = {dist = "uniform", low = -0.1 : f32, high = 0.1 : f32}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %0 = weft.matmul %x, %w1 : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %1 = weft.broadcast_in_dim %b1, dims = [1] : tensor<8xf32> -> tensor<2x8xf32>
  %2 = weft.add %0, %1 : tensor<2x8xf32>
  %3 = weft.gelu %2 : tensor<2x8xf32>
  %4 = weft.matmul %3, %w2 : (tensor<2x8xf32>, tensor<8x3xf32>) -> tensor<2x3xf32>
  %5 = weft.cross_entropy %4, %y : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %5 : tensor<f32>
}

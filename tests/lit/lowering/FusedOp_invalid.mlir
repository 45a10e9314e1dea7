// RUN: weft-opt %s --split-input-file --verify-diagnostics

func.func @not_elementwise(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = weft.fused(%a) : (tensor<4x4xf32>) -> tensor<4x4xf32> {
  ^bb0(%x: tensor<4x4xf32>):
    // expected-error @+1 {{is not elementwise and cannot be inside weft.fused}}
    %1 = weft.matmul %x, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    weft.yield %1 : tensor<4x4xf32>
  }
  return %0 : tensor<4x4xf32>
}

// -----

func.func @types(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{input #0 has type 'tensor<4xf32>' but body argument #0 has 'tensor<8xf32>'}}
  %0 = weft.fused(%a) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<8xf32>):
    weft.yield %x : tensor<8xf32>
  }
  return %0 : tensor<4xf32>
}

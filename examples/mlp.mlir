module {
  func.func @forward(
      %arg0: tensor<32x64xf32> {weft.input = "x"},
      %arg1: tensor<32xi32> {weft.input = "labels"},
      %arg2: tensor<64x128xf32> {weft.init = {dist = "normal", std = 0.176776692 : f32}, weft.param = "fc0.weight"},
      %arg3: tensor<128xf32> {weft.init = {dist = "zeros"}, weft.param = "fc0.bias"},
      %arg4: tensor<128x128xf32> {weft.init = {dist = "normal", std = 1.250000e-01 : f32}, weft.param = "fc1.weight"},
      %arg5: tensor<128xf32> {weft.init = {dist = "zeros"}, weft.param = "fc1.bias"},
      %arg6: tensor<128x16xf32> {weft.init = {dist = "normal", std = 0.0883883461 : f32}, weft.param = "head.weight"},
      %arg7: tensor<16xf32> {weft.init = {dist = "zeros"}, weft.param = "head.bias"}
  ) -> (tensor<f32> {weft.loss, weft.output = "loss"}, tensor<32x16xf32> {weft.output = "logits"}) {
    %0 = weft.matmul %arg0, %arg2 {weft.block = 0 : i64} : (tensor<32x64xf32>, tensor<64x128xf32>) -> tensor<32x128xf32>
    %1 = weft.broadcast_in_dim %arg3, dims = [1] {weft.block = 0 : i64} : tensor<128xf32> -> tensor<32x128xf32>
    %2 = weft.add %0, %1 {weft.block = 0 : i64} : tensor<32x128xf32>
    %3 = weft.relu %2 {weft.block = 0 : i64} : tensor<32x128xf32>
    %4 = weft.matmul %3, %arg4 {weft.block = 1 : i64} : (tensor<32x128xf32>, tensor<128x128xf32>) -> tensor<32x128xf32>
    %5 = weft.broadcast_in_dim %arg5, dims = [1] {weft.block = 1 : i64} : tensor<128xf32> -> tensor<32x128xf32>
    %6 = weft.add %4, %5 {weft.block = 1 : i64} : tensor<32x128xf32>
    %7 = weft.relu %6 {weft.block = 1 : i64} : tensor<32x128xf32>
    %8 = weft.matmul %7, %arg6 : (tensor<32x128xf32>, tensor<128x16xf32>) -> tensor<32x16xf32>
    %9 = weft.broadcast_in_dim %arg7, dims = [1] : tensor<16xf32> -> tensor<32x16xf32>
    %10 = weft.add %8, %9 : tensor<32x16xf32>
    %11 = weft.cross_entropy %10, %arg1 : (tensor<32x16xf32>, tensor<32xi32>) -> tensor<f32>
    return %11, %10 : tensor<f32>, tensor<32x16xf32>
  }
}


module {
  func.func @forward(%x: tensor<64x1024xf32> {weft.input = "x"},
                     %w1: tensor<1024x4096xf32> {weft.param = "w1", weft.init = {dist = "zeros"}},
                     %w2: tensor<4096x1024xf32> {weft.param = "w2", weft.init = {dist = "zeros"}})
      -> (tensor<f32> {weft.output = "loss", weft.loss}) {
    %a = weft.softmax %x {dim = 1 : i64, weft.block = 0 : i64} : tensor<64x1024xf32>
    %h = weft.matmul %a, %w1 {weft.block = 0 : i64} : (tensor<64x1024xf32>, tensor<1024x4096xf32>) -> tensor<64x4096xf32>
    %s = weft.softmax %h {dim = 0 : i64, weft.block = 0 : i64} : tensor<64x4096xf32>
    %y = weft.matmul %s, %w2 {weft.block = 0 : i64} : (tensor<64x4096xf32>, tensor<4096x1024xf32>) -> tensor<64x1024xf32>
    %l = weft.reduce "mean" %y, dims = [0, 1] : tensor<64x1024xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}

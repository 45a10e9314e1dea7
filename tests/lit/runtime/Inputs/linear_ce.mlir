// One linear layer and a cross-entropy: small enough to plan its memory by
// hand (weft_dump_memory.test).
module {
  func.func @forward(
      %x: tensor<4x8xf32> {weft.input = "x"},
      %labels: tensor<4xi32> {weft.input = "labels"},
      %w: tensor<8x16xf32> {weft.init = {dist = "normal", std = 0.1 : f32}, weft.param = "w"}
  ) -> (tensor<f32> {weft.loss, weft.output = "loss"}) {
    %0 = weft.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %1 = weft.cross_entropy %0, %labels : (tensor<4x16xf32>, tensor<4xi32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

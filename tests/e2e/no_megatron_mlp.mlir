// A layer Megatron's patterns miss (tanh then a square between the two
// matmuls, tanh between the head and the loss): tests/e2e/test_plan_auto.py
// plans it with --plan=auto, whose tp split comes from the sharding ILP.
module {
  func.func @forward(%x: tensor<32x64xf32> {weft.input = "x"},
                     %labels: tensor<32xi32> {weft.input = "labels"},
                     %w1: tensor<64x128xf32> {weft.param = "w1", weft.init = {dist = "normal", std = 0.2 : f32}},
                     %w2: tensor<128x64xf32> {weft.param = "w2", weft.init = {dist = "normal", std = 0.2 : f32}})
      -> (tensor<f32> {weft.output = "loss", weft.loss}) {
    %a = weft.softmax %x {dim = 1 : i64, weft.block = 0 : i64} : tensor<32x64xf32>
    %h = weft.matmul %a, %w1 {weft.block = 0 : i64} : (tensor<32x64xf32>, tensor<64x128xf32>) -> tensor<32x128xf32>
    %t = weft.tanh %h {weft.block = 0 : i64} : tensor<32x128xf32>
    %s = weft.mul %t, %t {weft.block = 0 : i64} : tensor<32x128xf32>
    %y = weft.matmul %s, %w2 {weft.block = 0 : i64} : (tensor<32x128xf32>, tensor<128x64xf32>) -> tensor<32x64xf32>
    %z = weft.tanh %y : tensor<32x64xf32>
    %l = weft.cross_entropy %z, %labels : (tensor<32x64xf32>, tensor<32xi32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

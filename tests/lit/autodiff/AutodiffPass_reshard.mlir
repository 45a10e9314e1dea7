// RUN: weft-opt %s --weft-autodiff | FileCheck %s
// RUN: weft-opt %s --weft-autodiff --weft-reshard | FileCheck %s --check-prefix=LOWERED

// weft.reshard is the identity on the global value, so its gradient is the
// way back: "R,S1" -> "R,S0" gives dx = reshard(dy) "R,S0" -> "R,S1", which
// weft-reshard lowers to the reverse all-to-all. A partial source ("P,R")
// comes back replicated: each addend's gradient is the whole gradient.
shard.grid @mesh(shape = 2x2)

// CHECK-LABEL: func.func @train_step
// CHECK: %[[DY:.*]] = weft.reshard %{{.*}} from "R,S0" to "R,S1" : tensor<2x8xf32> -> tensor<4x4xf32>
// CHECK: weft.reshard %{{.*}} from "R,R" to "R,R" : tensor<4x4xf32> -> tensor<4x4xf32>
// LOWERED-LABEL: func.func @train_step
// LOWERED: shard.all_to_all %{{.*}} on @mesh grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x8xf32> -> tensor<4x4xf32>
func.func @forward(%x: tensor<4x4xf32> {weft.input = "x"},
                   %w: tensor<4x4xf32> {weft.param = "w", weft.init = {dist = "ones"}})
    -> (tensor<f32> {weft.output = "loss", weft.loss}) {
  %p = weft.reshard %w from "P,R" to "R,R" : tensor<4x4xf32> -> tensor<4x4xf32>
  %m = weft.mul %x, %p : tensor<4x4xf32>
  %y = weft.reshard %m from "R,S1" to "R,S0" : tensor<4x4xf32> -> tensor<2x8xf32>
  %s = weft.mul %y, %y : tensor<2x8xf32>
  %l = weft.reduce "sum" %s, dims = [0, 1] : tensor<2x8xf32> -> tensor<f32>
  return %l : tensor<f32>
}

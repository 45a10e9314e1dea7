// RUN: weft-opt %s --split-input-file --weft-reshard --verify-diagnostics

shard.grid @mesh(shape = 2x2)
func.func @f(%x: tensor<6x4xf32>) -> tensor<6x4xf32> {
  // expected-error @+1 {{sharding S0,S0 splits dimension 0 (size 6) into 4 blocks, which does not divide it}}
  %0 = weft.reshard %x from "R,R" to "S0,S0" : tensor<6x4xf32> -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

shard.grid @mesh(shape = 2x2)
func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{no collective sequence turns R,R into P,R (collectives never create a partial sum)}}
  %0 = weft.reshard %x from "R,R" to "P,R" : tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

shard.grid @mesh(shape = 2x2)
func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{sharding 'S2,R': mesh axis 0 is 'S2'; expected R, P or S<dim> with dim below 2}}
  %0 = weft.reshard %x from "S2,R" to "R,R" : tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

shard.grid @mesh(shape = 2x2)
func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{result 'tensor<4x4xf32>' is not the block of the global 'tensor<4x4xf32>' under 'S0,R'; expected 'tensor<2x4xf32>'}}
  %0 = weft.reshard %x from "R,R" to "S0,R" : tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{weft.reshard needs a shard.grid @mesh in the module}}
  %0 = weft.reshard %x from "R,R" to "R,R" : tensor<4x4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-plan-memory))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-plan-memory{alignment=256}))' | FileCheck %s --check-prefix=ALIGN

// Four 1 KiB buffers. %0 dies once %1 is made, so %3 reuses its bytes; the
// reshape is a view of %1 and keeps it alive until the tanh reads it, so the
// tanh cannot reuse %1's bytes: three slots, 3 KiB.
// CHECK-LABEL: func @chain
// CHECK-SAME: weft.arena_bytes = 3072
// CHECK: %[[A:.*]] = weft.exp %arg0 {weft.offsets = array<i64: 0>}
// CHECK: %[[B:.*]] = weft.exp %[[A]] {weft.offsets = array<i64: 1024>}
// CHECK: %[[V:.*]] = weft.reshape %[[B]] : tensor<256xf32> -> tensor<16x16xf32>
// CHECK: weft.exp %[[B]] {weft.offsets = array<i64: 0>}
// CHECK: weft.tanh %[[V]] {weft.offsets = array<i64: 2048>}
// ALIGN: weft.arena_bytes = 3072
// ALIGN: weft.offsets = array<i64: 1024>
func.func @chain(%x: tensor<256xf32>) -> (tensor<256xf32>, tensor<16x16xf32>) {
  %0 = weft.exp %x : tensor<256xf32>
  %1 = weft.exp %0 : tensor<256xf32>
  %2 = weft.reshape %1 : tensor<256xf32> -> tensor<16x16xf32>
  %3 = weft.exp %1 : tensor<256xf32>
  %4 = weft.tanh %2 : tensor<16x16xf32>
  return %3, %4 : tensor<256xf32>, tensor<16x16xf32>
}

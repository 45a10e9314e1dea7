// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-plan-memory))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-plan-memory{alignment=4096}))' | FileCheck %s --check-prefix=ALIGN

// 1 KiB buffers. %0 dies once %1 is made, so %3 reuses its bytes. A reshape
// is a view: %2 keeps %1 alive until the tanh reads it, and %5 keeps %3
// alive until the add, so the tanh needs a third slot. The add's result is
// returned: the runtime writes it straight into the output tensor, so it
// takes no arena bytes (offset -1).
// CHECK-LABEL: func @chain
// CHECK-SAME: weft.arena_bytes = 3072
// CHECK: %[[A:.*]] = weft.exp %arg0 {weft.offsets = array<i64: 0>}
// CHECK: %[[B:.*]] = weft.exp %[[A]] {weft.offsets = array<i64: 1024>}
// CHECK: %[[V:.*]] = weft.reshape %[[B]] : tensor<256xf32> -> tensor<16x16xf32>
// CHECK: %[[C:.*]] = weft.exp %[[B]] {weft.offsets = array<i64: 0>}
// CHECK: weft.tanh %[[V]] {weft.offsets = array<i64: 2048>}
// CHECK: weft.add %{{.*}}, %{{.*}} {weft.offsets = array<i64: -1>}
// ALIGN: weft.arena_bytes = 12288
// ALIGN: weft.offsets = array<i64: 4096>
func.func @chain(%x: tensor<256xf32>) -> tensor<16x16xf32> {
  %0 = weft.exp %x : tensor<256xf32>
  %1 = weft.exp %0 : tensor<256xf32>
  %2 = weft.reshape %1 : tensor<256xf32> -> tensor<16x16xf32>
  %3 = weft.exp %1 : tensor<256xf32>
  %4 = weft.tanh %2 : tensor<16x16xf32>
  %5 = weft.reshape %3 : tensor<256xf32> -> tensor<16x16xf32>
  %6 = weft.add %4, %5 : tensor<16x16xf32>
  return %6 : tensor<16x16xf32>
}

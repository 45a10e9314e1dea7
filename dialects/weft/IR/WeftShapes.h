//===- WeftShapes.h - small shape helpers shared across Weft -------------===//
#ifndef WEFT_SHAPES_H
#define WEFT_SHAPES_H

#include "mlir/IR/BuiltinTypes.h"

namespace mlir::weft {

/// Bytes of one element of a Weft element type (f32, bf16, f16, i32, i64).
inline int64_t elementBytes(Type t) {
  return (t.getIntOrFloatBitWidth() + 7) / 8;
}

/// Bytes of a static tensor.
inline int64_t tensorBytes(Type t) {
  auto rt = llvm::cast<RankedTensorType>(t);
  return rt.getNumElements() * elementBytes(rt.getElementType());
}

} // namespace mlir::weft

#endif // WEFT_SHAPES_H

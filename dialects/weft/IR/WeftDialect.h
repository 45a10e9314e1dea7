//===- WeftDialect.h - the weft dialect and its ops ----------------------===//
#ifndef WEFT_DIALECT_H
#define WEFT_DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/weft/IR/WeftDialect.h.inc"
#include "dialects/weft/IR/WeftInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/weft/IR/WeftOps.h.inc"

#endif // WEFT_DIALECT_H

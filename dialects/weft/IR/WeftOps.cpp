//===- WeftOps.cpp - op definitions and the custom assembly pieces -------===//
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::weft;

// Elementwise ops print one type when operands and result agree:
//   %c = weft.add %a, %b : tensor<4x8xf32>
// and spell every type out otherwise, so that even IR that fails to verify
// prints and parses back:
//   %c = weft.add %a, %b : tensor<4x8xf32>, tensor<4x9xf32> -> tensor<4x8xf32>
static ParseResult parseTypeList(OpAsmParser &p, MutableArrayRef<Type *> refs) {
  Type first;
  if (p.parseType(first))
    return failure();
  if (failed(p.parseOptionalComma()) && failed(p.parseOptionalArrow())) {
    for (Type *t : refs)
      *t = first;
    return success();
  }
  // The long form: all operand types, then `-> result`.
  *refs[0] = first;
  for (size_t i = 1; i + 1 < refs.size(); ++i)
    if (p.parseType(*refs[i]) ||
        (i + 2 < refs.size() && p.parseComma()))
      return failure();
  if (refs.size() > 2 && p.parseArrow())
    return failure();
  return p.parseType(*refs.back());
}

static void printTypeList(OpAsmPrinter &p, ArrayRef<Type> types) {
  if (llvm::all_equal(types)) {
    p << types.front();
    return;
  }
  llvm::interleaveComma(types.drop_back(), p);
  p << " -> " << types.back();
}

static ParseResult parseElementwiseTypes(OpAsmParser &p, Type &lhs, Type &rhs,
                                         Type &result) {
  Type *refs[] = {&lhs, &rhs, &result};
  return parseTypeList(p, refs);
}
static void printElementwiseTypes(OpAsmPrinter &p, Operation *, Type lhs,
                                  Type rhs, Type result) {
  printTypeList(p, {lhs, rhs, result});
}
static ParseResult parseElementwiseTypes(OpAsmParser &p, Type &operand,
                                         Type &result) {
  Type *refs[] = {&operand, &result};
  return parseTypeList(p, refs);
}
static void printElementwiseTypes(OpAsmPrinter &p, Operation *, Type operand,
                                  Type result) {
  printTypeList(p, {operand, result});
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

#include "dialects/weft/IR/WeftInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/weft/IR/WeftOps.cpp.inc"

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
  // refs: the operand types, then the result type.
  Type first;
  if (p.parseType(first))
    return failure();
  for (Type *t : refs)
    *t = first;
  size_t numOperands = refs.size() - 1;
  if (succeeded(p.parseOptionalComma())) {
    // `A, B -> C`: every operand type, then the result.
    for (size_t i = 1; i < numOperands; ++i)
      if (p.parseType(*refs[i]) || (i + 1 < numOperands && p.parseComma()))
        return failure();
    return failure(p.parseArrow() || p.parseType(*refs.back()));
  }
  // `A -> C`: operands of one type, a result of another.
  if (succeeded(p.parseOptionalArrow()))
    return p.parseType(*refs.back());
  return success();
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

LogicalResult FusedOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "has " << getInputs().size() << " inputs but its body takes "
                         << body.getNumArguments() << " arguments";
  for (auto [i, pair] : llvm::enumerate(llvm::zip(getInputs(), body.getArguments())))
    if (std::get<0>(pair).getType() != std::get<1>(pair).getType())
      return emitOpError() << "input #" << i << " has type " << std::get<0>(pair).getType()
                           << " but body argument #" << i << " has "
                           << std::get<1>(pair).getType();
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end in weft.yield";
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values whose types differ from the results";
  for (Operation &op : body.without_terminator()) {
    if (!isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp, LogOp,
             SqrtOp, RsqrtOp, TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp,
             ReluGradOp, SiluGradOp, SigmoidGradOp, TanhGradOp, GeluGradOp,
             MaxGradOp, MinGradOp, ScaleOp, BroadcastInDimOp>(op))
      return op.emitOpError() << "is not elementwise and cannot be inside weft.fused";
    if (auto b = dyn_cast<BroadcastInDimOp>(op);
        b && !isa<BlockArgument>(b.getOperand()))
      return b.emitOpError() << "inside weft.fused may only broadcast an input";
  }
  return success();
}

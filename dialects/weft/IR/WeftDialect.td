//===- WeftDialect.td - the weft dialect ---------------------------------===//
//
// The model IR of Weft: tensors with static global shapes, and the ops of the
// IR contract in ../shared/DESIGN.md.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_DIALECT_TD
#define WEFT_DIALECT_TD

include "mlir/IR/OpBase.td"

def Weft_Dialect : Dialect {
  let name = "weft";
  let cppNamespace = "::mlir::weft";
  let summary = "Weft's model IR: the ops of a trainable dataflow graph.";
  let description = [{
    A model is a `builtin.module` holding `func.func @forward`. Its arguments
    are inputs (`weft.input = "name"`) or parameters (`weft.param = "name"`
    with a `weft.init` spec); its results are outputs (`weft.output`), one
    scalar of which may be the loss (`weft.loss`).
  }];
  // The argument and result markers are checked where they are attached.
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    static constexpr llvm::StringLiteral kInput = "weft.input";
    static constexpr llvm::StringLiteral kParam = "weft.param";
    static constexpr llvm::StringLiteral kInit = "weft.init";
    static constexpr llvm::StringLiteral kOutput = "weft.output";
    static constexpr llvm::StringLiteral kLoss = "weft.loss";
  }];
}

class Weft_Op<string mnemonic, list<Trait> traits = []>
    : Op<Weft_Dialect, mnemonic, traits>;

// Element types of the IR contract.
def Weft_FloatElt : AnyTypeOf<[F32, BF16, F16]>;
def Weft_IntElt : AnyTypeOf<[I32, I64]>;
def Weft_Tensor : StaticShapeTensorOf<[F32, BF16, F16, I32, I64]>;
def Weft_FloatTensor : StaticShapeTensorOf<[F32, BF16, F16]>;
def Weft_IntTensor : StaticShapeTensorOf<[I32, I64]>;

#endif // WEFT_DIALECT_TD

//===- ModelBuilder.h - builds Weft models op by op ----------------------===//
//
// A thin layer over OpBuilder for the generators: it creates `@forward`,
// appends inputs and parameters as marked arguments as they are needed, and
// has the few composite layers (linear, layer norm, attention) the example
// models share.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_FRONTENDS_MODELS_MODELBUILDER_H
#define WEFT_FRONTENDS_MODELS_MODELBUILDER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::weft {

/// A parameter's initial distribution, as written in `weft.init`.
struct Init {
  std::string dist; // zeros, ones, normal, uniform
  double a = 0, b = 0; // normal: mean, std; uniform: low, high
  static Init zeros() { return {"zeros"}; }
  static Init ones() { return {"ones"}; }
  static Init normal(double std, double mean = 0) { return {"normal", mean, std}; }
  static Init uniform(double lo, double hi) { return {"uniform", lo, hi}; }
};

class ModelBuilder {
public:
  explicit ModelBuilder(MLIRContext *ctx);

  Value input(StringRef name, ArrayRef<int64_t> shape, Type elementType);
  Value param(StringRef name, ArrayRef<int64_t> shape, Init init);
  void output(StringRef name, Value v, bool isLoss = false);
  /// Finishes @forward (its signature and the return) and hands the module over.
  OwningOpRef<ModuleOp> finish();

  // Composite layers.
  /// x [..., K] @ w [K, N] (+ b [N]).
  Value linear(Value x, Value w, Value b = nullptr);
  /// Adds b [N] to the last dimension of x [..., N].
  Value addBias(Value x, Value b);
  Value broadcastTo(Value v, ArrayRef<int64_t> shape, ArrayRef<int64_t> dims);
  Value reshape(Value v, ArrayRef<int64_t> shape);
  Value transpose(Value v, ArrayRef<int64_t> perm);
  Value slice(Value v, ArrayRef<int64_t> start, ArrayRef<int64_t> limit);
  Value zeros(ArrayRef<int64_t> shape);
  /// Multi-head self-attention on x [B, S, D], with its own projections
  /// named `<prefix>.{q,k,v,o}_proj.{weight,bias}`; `outStd` initialises the
  /// output projection (GPT-2 scales it by 1/sqrt(2 * layers)).
  Value selfAttention(Value x, StringRef prefix, int64_t heads, bool causal,
                      double outStd);
  Value layerNorm(Value x, StringRef prefix);

  /// Ops built between beginBlock(i) and endBlock() are tagged
  /// `weft.block = i`: the unit weft-autodiff recomputes with --recompute
  /// (a transformer layer, an LSTM layer).
  void beginBlock(int64_t index);
  void endBlock();

  OpBuilder b;
  Location loc;
  Type f32, i32;

private:
  ModuleOp module;
  func::FuncOp fn;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  Operation *blockStart = nullptr; // the last op before the open block
  int64_t blockIndex = -1;
};

RankedTensorType tensorType(Value v);

} // namespace mlir::weft

#endif

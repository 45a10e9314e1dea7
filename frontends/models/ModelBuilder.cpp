//===- ModelBuilder.cpp --------------------------------------------------===//
#include "frontends/models/ModelBuilder.h"
#include "dialects/weft/IR/WeftDialect.h"

using namespace mlir;
using namespace mlir::weft;

RankedTensorType mlir::weft::tensorType(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

ModelBuilder::ModelBuilder(MLIRContext *ctx)
    : b(ctx), loc(b.getUnknownLoc()), f32(b.getF32Type()),
      i32(b.getI32Type()) {
  module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module.getBody());
  fn = func::FuncOp::create(b, loc, "forward", b.getFunctionType({}, {}));
  b.setInsertionPointToStart(fn.addEntryBlock());
}

Value ModelBuilder::input(StringRef name, ArrayRef<int64_t> shape, Type elt) {
  argAttrs.push_back(b.getDictionaryAttr(
      b.getNamedAttr(WeftDialect::kInput, b.getStringAttr(name))));
  return fn.front().addArgument(RankedTensorType::get(shape, elt), loc);
}

Value ModelBuilder::param(StringRef name, ArrayRef<int64_t> shape, Init init) {
  SmallVector<NamedAttribute> spec{
      b.getNamedAttr("dist", b.getStringAttr(init.dist))};
  if (init.dist == "normal") {
    if (init.a != 0)
      spec.push_back(b.getNamedAttr("mean", b.getF32FloatAttr(init.a)));
    spec.push_back(b.getNamedAttr("std", b.getF32FloatAttr(init.b)));
  } else if (init.dist == "uniform") {
    spec.push_back(b.getNamedAttr("low", b.getF32FloatAttr(init.a)));
    spec.push_back(b.getNamedAttr("high", b.getF32FloatAttr(init.b)));
  }
  argAttrs.push_back(b.getDictionaryAttr(
      {b.getNamedAttr(WeftDialect::kParam, b.getStringAttr(name)),
       b.getNamedAttr(WeftDialect::kInit, b.getDictionaryAttr(spec))}));
  return fn.front().addArgument(RankedTensorType::get(shape, f32), loc);
}

void ModelBuilder::output(StringRef name, Value v, bool isLoss) {
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr(WeftDialect::kOutput, b.getStringAttr(name))};
  if (isLoss)
    attrs.push_back(b.getNamedAttr(WeftDialect::kLoss, b.getUnitAttr()));
  results.push_back(v);
  resultAttrs.push_back(b.getDictionaryAttr(attrs));
}

OwningOpRef<ModuleOp> ModelBuilder::finish() {
  func::ReturnOp::create(b, loc, results);
  fn.setFunctionType(b.getFunctionType(fn.front().getArgumentTypes(),
                                       ValueRange(results).getTypes()));
  fn.setAllArgAttrs(argAttrs);
  fn.setAllResultAttrs(resultAttrs);
  return OwningOpRef<ModuleOp>(module);
}

Value ModelBuilder::broadcastTo(Value v, ArrayRef<int64_t> shape,
                                ArrayRef<int64_t> dims) {
  auto t = RankedTensorType::get(shape, tensorType(v).getElementType());
  return BroadcastInDimOp::create(b, loc, t, v, dims);
}

Value ModelBuilder::addBias(Value x, Value bias) {
  RankedTensorType t = tensorType(x);
  return AddOp::create(b, loc, x,
                       broadcastTo(bias, t.getShape(), {t.getRank() - 1}));
}

Value ModelBuilder::linear(Value x, Value w, Value bias) {
  Value y = MatmulOp::create(b, loc, x, w, false, false);
  return bias ? addBias(y, bias) : y;
}

Value ModelBuilder::reshape(Value v, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, tensorType(v).getElementType());
  return ReshapeOp::create(b, loc, t, v);
}

Value ModelBuilder::transpose(Value v, ArrayRef<int64_t> perm) {
  return TransposeOp::create(b, loc, v, perm);
}

Value ModelBuilder::slice(Value v, ArrayRef<int64_t> start,
                          ArrayRef<int64_t> limit) {
  return SliceOp::create(b, loc, v, start, limit);
}

Value ModelBuilder::zeros(ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, f32);
  return ConstantOp::create(b, loc, DenseElementsAttr::get(t, 0.0f));
}

Value ModelBuilder::layerNorm(Value x, StringRef prefix) {
  int64_t d = tensorType(x).getShape().back();
  Value gamma = param((prefix + ".weight").str(), {d}, Init::ones());
  Value beta = param((prefix + ".bias").str(), {d}, Init::zeros());
  return LayerNormOp::create(b, loc, x, gamma, beta, b.getF32FloatAttr(1e-5f));
}

Value ModelBuilder::selfAttention(Value x, StringRef prefix, int64_t heads,
                                  bool causal, double outStd) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  int64_t batch = shape[0], seq = shape[1], d = shape[2], dh = d / heads;
  auto proj = [&](StringRef name, double std) {
    Value w = param((prefix + "." + name + ".weight").str(), {d, d},
                    Init::normal(std));
    Value bias = param((prefix + "." + name + ".bias").str(), {d}, Init::zeros());
    return std::make_pair(w, bias);
  };
  // [B, S, D] -> [B, H, S, Dh]
  auto splitHeads = [&](Value v) {
    return transpose(reshape(v, {batch, seq, heads, dh}), {0, 2, 1, 3});
  };
  auto [wq, bq] = proj("q_proj", 0.02);
  auto [wk, bk] = proj("k_proj", 0.02);
  auto [wv, bv] = proj("v_proj", 0.02);
  Value q = splitHeads(linear(x, wq, bq));
  Value k = splitHeads(linear(x, wk, bk));
  Value v = splitHeads(linear(x, wv, bv));
  Value a = AttentionOp::create(b, loc, q, k, v, b.getBoolAttr(causal),
                                FloatAttr());
  Value merged = reshape(transpose(a, {0, 2, 1, 3}), {batch, seq, d});
  auto [wo, bo] = proj("o_proj", outStd);
  return linear(merged, wo, bo);
}

void ModelBuilder::beginBlock(int64_t index) {
  Block &body = fn.front();
  blockStart = body.empty() ? nullptr : &body.back();
  blockIndex = index;
}

void ModelBuilder::endBlock() {
  Block &body = fn.front();
  auto it = blockStart ? std::next(blockStart->getIterator()) : body.begin();
  for (; it != body.end(); ++it)
    it->setAttr("weft.block", b.getI64IntegerAttr(blockIndex));
  blockStart = nullptr;
  blockIndex = -1;
}

//===- MlpGenerator.cpp - a classifier MLP -------------------------------===//
//
// x [B, features] -> (linear, relu) x layers -> linear -> logits [B, classes],
// trained with cross-entropy against integer labels [B].
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"
#include "frontends/models/ModelBuilder.h"

using namespace mlir;
using namespace mlir::weft;

OwningOpRef<ModuleOp> mlir::weft::generateMlp(MLIRContext *ctx,
                                              const ModelSpec &s) {
  ModelBuilder m(ctx);
  Value x = m.input("x", {s.batch, s.features}, m.f32);
  Value labels = m.input("labels", {s.batch}, m.i32);
  int64_t in = s.features;
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "fc" + std::to_string(l);
    m.beginBlock(l);
    // He initialisation for a relu layer: std = sqrt(2 / fan_in).
    Value w = m.param(p + ".weight", {in, s.hidden},
                      Init::normal(std::sqrt(2.0 / in)));
    Value b = m.param(p + ".bias", {s.hidden}, Init::zeros());
    x = ReluOp::create(m.b, m.loc, m.linear(x, w, b));
    m.endBlock();
    in = s.hidden;
  }
  Value w = m.param("head.weight", {in, s.classes},
                    Init::normal(std::sqrt(1.0 / in)));
  Value b = m.param("head.bias", {s.classes}, Init::zeros());
  Value logits = m.linear(x, w, b);
  Value loss = CrossEntropyOp::create(m.b, m.loc, logits, labels);
  m.output("loss", loss, /*isLoss=*/true);
  m.output("logits", logits);
  return m.finish();
}

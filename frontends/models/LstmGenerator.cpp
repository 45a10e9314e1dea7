//===- LstmGenerator.cpp - a stacked LSTM language model -----------------===//
//
// The RNN of the classic model-parallel examples: an embedding, `layers`
// LSTM layers unrolled over `seq` time steps (gates i, f, g, o in that order,
// h0 = c0 = 0), and a linear head to the vocabulary at every step, trained
// to predict the next token with cross-entropy.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"
#include "frontends/models/ModelBuilder.h"

using namespace mlir;
using namespace mlir::weft;

OwningOpRef<ModuleOp> mlir::weft::generateLstm(MLIRContext *ctx,
                                               const ModelSpec &s) {
  ModelBuilder m(ctx);
  const int64_t hdim = s.hidden, bsz = s.batch, steps = s.seq;
  Value tokens = m.input("tokens", {bsz, steps}, m.i32);
  Value labels = m.input("labels", {bsz, steps}, m.i32);
  Value table = m.param("embedding", {s.vocab, hdim}, Init::normal(0.1));
  Value emb = EmbeddingOp::create(m.b, m.loc, table, tokens); // [B, T, H]

  // The inputs of the first layer at each step: [B, H] slices of emb.
  SmallVector<Value> xs;
  for (int64_t t = 0; t < steps; ++t)
    xs.push_back(m.reshape(m.slice(emb, {0, t, 0}, {bsz, t + 1, hdim}),
                           {bsz, hdim}));

  // PyTorch's LSTM initialisation: U(-1/sqrt(H), 1/sqrt(H)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(hdim));
  auto gate = [&](Value gates, int64_t i) {
    return m.slice(gates, {0, i * hdim}, {bsz, (i + 1) * hdim});
  };
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "lstm." + std::to_string(l);
    m.beginBlock(l);
    Value wih = m.param(p + ".w_ih", {hdim, 4 * hdim}, Init::uniform(-bound, bound));
    Value whh = m.param(p + ".w_hh", {hdim, 4 * hdim}, Init::uniform(-bound, bound));
    Value bias = m.param(p + ".bias", {4 * hdim}, Init::zeros());
    Value h = m.zeros({bsz, hdim}), c = m.zeros({bsz, hdim});
    for (int64_t t = 0; t < steps; ++t) {
      Value gates = AddOp::create(m.b, m.loc, m.linear(xs[t], wih),
                                  m.linear(h, whh, bias));
      Value i = SigmoidOp::create(m.b, m.loc, gate(gates, 0));
      Value f = SigmoidOp::create(m.b, m.loc, gate(gates, 1));
      Value g = TanhOp::create(m.b, m.loc, gate(gates, 2));
      Value o = SigmoidOp::create(m.b, m.loc, gate(gates, 3));
      c = AddOp::create(m.b, m.loc, MulOp::create(m.b, m.loc, f, c),
                        MulOp::create(m.b, m.loc, i, g));
      h = MulOp::create(m.b, m.loc, o, TanhOp::create(m.b, m.loc, c));
      xs[t] = h; // the next layer's input
    }
    m.endBlock();
  }
  SmallVector<Value> seqOut;
  for (Value h : xs)
    seqOut.push_back(m.reshape(h, {bsz, 1, hdim}));
  Value hs = ConcatOp::create(m.b, m.loc, seqOut, 1); // [B, T, H]
  Value w = m.param("head.weight", {hdim, s.vocab}, Init::uniform(-bound, bound));
  Value b = m.param("head.bias", {s.vocab}, Init::zeros());
  Value logits = m.linear(hs, w, b);
  Value loss = CrossEntropyOp::create(m.b, m.loc, logits, labels);
  m.output("loss", loss, /*isLoss=*/true);
  m.output("logits", logits);
  return m.finish();
}

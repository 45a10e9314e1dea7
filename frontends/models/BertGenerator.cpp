//===- BertGenerator.cpp - a BERT-style encoder --------------------------===//
//
// BERT: word and position embeddings with a layer norm, post-LN blocks of
// bidirectional self-attention and a GELU (erf) MLP, and the masked-LM head
// (dense, GELU, layer norm, then the decoder tied to the word embeddings plus
// a bias). There is no token-type embedding and no pooler, and the loss is
// taken at every position: the masking of inputs is the data's business.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"
#include "frontends/models/ModelBuilder.h"

using namespace mlir;
using namespace mlir::weft;

OwningOpRef<ModuleOp> mlir::weft::generateBert(MLIRContext *ctx,
                                               const ModelSpec &s) {
  ModelBuilder m(ctx);
  const int64_t d = s.hidden, ffn = s.ffn ? s.ffn : 4 * s.hidden;
  Value tokens = m.input("tokens", {s.batch, s.seq}, m.i32);
  Value labels = m.input("labels", {s.batch, s.seq}, m.i32);
  Value words = m.param("embeddings.word", {s.vocab, d}, Init::normal(0.02));
  Value pos = m.param("embeddings.position", {s.seq, d}, Init::normal(0.02));

  Value h = EmbeddingOp::create(m.b, m.loc, words, tokens);
  h = AddOp::create(m.b, m.loc, h, m.broadcastTo(pos, {s.batch, s.seq, d}, {1, 2}));
  h = m.layerNorm(h, "embeddings.ln");
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "layer." + std::to_string(l);
    m.beginBlock(l);
    Value a = m.selfAttention(h, p + ".attn", s.heads, /*causal=*/false, 0.02);
    h = m.layerNorm(AddOp::create(m.b, m.loc, h, a), p + ".ln_1");
    Value w1 = m.param(p + ".mlp.fc.weight", {d, ffn}, Init::normal(0.02));
    Value b1 = m.param(p + ".mlp.fc.bias", {ffn}, Init::zeros());
    Value w2 = m.param(p + ".mlp.proj.weight", {ffn, d}, Init::normal(0.02));
    Value b2 = m.param(p + ".mlp.proj.bias", {d}, Init::zeros());
    Value f = GeluOp::create(m.b, m.loc, m.linear(h, w1, b1), "none");
    h = m.layerNorm(AddOp::create(m.b, m.loc, h, m.linear(f, w2, b2)),
                    p + ".ln_2");
    m.endBlock();
  }
  Value wt = m.param("mlm.dense.weight", {d, d}, Init::normal(0.02));
  Value bt = m.param("mlm.dense.bias", {d}, Init::zeros());
  Value t = GeluOp::create(m.b, m.loc, m.linear(h, wt, bt), "none");
  t = m.layerNorm(t, "mlm.ln");
  Value bias = m.param("mlm.decoder.bias", {s.vocab}, Init::zeros());
  Value logits =
      m.addBias(MatmulOp::create(m.b, m.loc, t, words, false, true), bias);
  Value loss = CrossEntropyOp::create(m.b, m.loc, logits, labels);
  m.output("loss", loss, /*isLoss=*/true);
  m.output("logits", logits);
  return m.finish();
}

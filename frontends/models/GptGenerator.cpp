//===- GptGenerator.cpp - a GPT-2-style decoder --------------------------===//
//
// GPT-2: token and learned position embeddings, pre-LN blocks of causal
// self-attention and a GELU (tanh) MLP, a final layer norm, and the LM head
// tied to `wte`. Q, K and V are three [D, D] projections rather than GPT-2's
// one [D, 3D]: the parameter count is the same (124,439,808 for GPT-2 small)
// and tensor parallelism splits each by column without slicing a fused one.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "frontends/models/Generators.h"
#include "frontends/models/ModelBuilder.h"

using namespace mlir;
using namespace mlir::weft;

OwningOpRef<ModuleOp> mlir::weft::generateGpt(MLIRContext *ctx,
                                              const ModelSpec &s) {
  ModelBuilder m(ctx);
  const int64_t d = s.hidden, ffn = s.ffn ? s.ffn : 4 * s.hidden;
  const double residualStd = 0.02 / std::sqrt(2.0 * s.layers);
  Value tokens = m.input("tokens", {s.batch, s.seq}, m.i32);
  Value labels = m.input("labels", {s.batch, s.seq}, m.i32);
  Value wte = m.param("wte", {s.vocab, d}, Init::normal(0.02));
  Value wpe = m.param("wpe", {s.seq, d}, Init::normal(0.01));

  Value h = EmbeddingOp::create(m.b, m.loc, wte, tokens);
  h = AddOp::create(m.b, m.loc, h, m.broadcastTo(wpe, {s.batch, s.seq, d}, {1, 2}));
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "h." + std::to_string(l);
    m.beginBlock(l);
    Value a = m.layerNorm(h, p + ".ln_1");
    a = m.selfAttention(a, p + ".attn", s.heads, /*causal=*/true, residualStd);
    h = AddOp::create(m.b, m.loc, h, a);
    Value f = m.layerNorm(h, p + ".ln_2");
    Value w1 = m.param(p + ".mlp.fc.weight", {d, ffn}, Init::normal(0.02));
    Value b1 = m.param(p + ".mlp.fc.bias", {ffn}, Init::zeros());
    Value w2 = m.param(p + ".mlp.proj.weight", {ffn, d}, Init::normal(residualStd));
    Value b2 = m.param(p + ".mlp.proj.bias", {d}, Init::zeros());
    f = GeluOp::create(m.b, m.loc, m.linear(f, w1, b1), "tanh");
    h = AddOp::create(m.b, m.loc, h, m.linear(f, w2, b2));
    m.endBlock();
  }
  h = m.layerNorm(h, "ln_f");
  // The LM head is wte itself: logits = h @ wte^T.
  Value logits = MatmulOp::create(m.b, m.loc, h, wte, false, true);
  Value loss = CrossEntropyOp::create(m.b, m.loc, logits, labels);
  m.output("loss", loss, /*isLoss=*/true);
  m.output("logits", logits);
  return m.finish();
}

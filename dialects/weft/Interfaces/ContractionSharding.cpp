//===- ContractionSharding.cpp - matmul, attention and its gradient ------===//
//
// matmul: loops (batch..., M, N, K), K a sum. Split K and each device holds a
// partial product: partition all-reduces it (upstream MLIR 22 has no partial
// shardings to defer that to a later op).
//
// attention: loops (B, H, Sq, Dv, Sk, Dk). B and H (whole heads) split freely,
// and so does Dv: the output's columns come from v's columns alone. Sk is the
// softmax axis and Dk feeds the scores through the softmax, so neither splits.
// Sq splits only without `causal`: the causal mask compares global positions,
// which a device holding a block of queries does not know.
//
// attention_grad: the same loops. dk and dv sum over the queries and dq, dk
// sum over Dv (dP = dy v^T is linear in Dv's shards, and so are dS, dq, dk),
// so Sq and Dv are sum reductions: a split makes those results partial and
// partition all-reduces them, while dq (for Sq) or dv (for Dv) stays local.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;
using shard::ReductionKind;

namespace {

struct MatmulModel : LoopShardingModel<MatmulModel, MatmulOp> {
  static LoopNest describe(MatmulOp op) {
    LoopNest nest;
    int64_t rank = op.getType().getRank();
    SmallVector<int64_t> batch = nest.identity(rank - 2);
    int64_t m = nest.parallel(), n = nest.parallel(), k = nest.reduction(ReductionKind::Sum);
    SmallVector<int64_t> lhs(batch), rhs, out(batch);
    lhs.append(op.getTransposeA() ? SmallVector<int64_t>{k, m} : SmallVector<int64_t>{m, k});
    // A 2-D right-hand side is shared by every batch.
    if (op.getRhs().getType().getRank() > 2)
      rhs.append(batch);
    rhs.append(op.getTransposeB() ? SmallVector<int64_t>{n, k} : SmallVector<int64_t>{k, n});
    out.append({m, n});
    nest.tensors = {lhs, rhs, out};
    return nest;
  }
};

// The loops both attention ops share; `grad` makes Sq and Dv sum reductions.
struct AttentionLoops {
  int64_t b, h, sq, dv, sk, dk;
  AttentionLoops(LoopNest &nest, bool causal, bool grad) {
    b = nest.parallel();
    h = nest.parallel();
    sq = grad ? nest.reduction(ReductionKind::Sum, !causal) : nest.parallel(!causal);
    dv = grad ? nest.reduction(ReductionKind::Sum) : nest.parallel();
    sk = nest.reduction(ReductionKind::Generic, /*shardable=*/false);
    dk = nest.reduction(ReductionKind::Sum, /*shardable=*/false);
  }
  SmallVector<int64_t> q() const { return {b, h, sq, dk}; }
  SmallVector<int64_t> k() const { return {b, h, sk, dk}; }
  SmallVector<int64_t> v() const { return {b, h, sk, dv}; }
  SmallVector<int64_t> out() const { return {b, h, sq, dv}; }
};

struct AttentionModel : LoopShardingModel<AttentionModel, AttentionOp> {
  static LoopNest describe(AttentionOp op) {
    LoopNest nest;
    AttentionLoops l(nest, op.getCausal(), /*grad=*/false);
    nest.tensors = {l.q(), l.k(), l.v(), l.out()};
    return nest;
  }
};

struct AttentionGradModel : LoopShardingModel<AttentionGradModel, AttentionGradOp> {
  static LoopNest describe(AttentionGradOp op) {
    LoopNest nest;
    AttentionLoops l(nest, op.getCausal(), /*grad=*/true);
    // Operands q, k, v, dy; results dq, dk, dv.
    nest.tensors = {l.q(), l.k(), l.v(), l.out(), l.q(), l.k(), l.v()};
    return nest;
  }
};

} // namespace

void sharding::attachContractionShardingModels(MLIRContext *ctx) {
  MatmulOp::attachInterface<MatmulModel>(*ctx);
  AttentionOp::attachInterface<AttentionModel>(*ctx);
  AttentionGradOp::attachInterface<AttentionGradModel>(*ctx);
}

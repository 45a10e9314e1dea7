//===- WeftCost.cpp - FLOP and byte counts of every weft op --------------===//
//
// The whole cost table in one place. FLOPs count a multiply-add as 2 and a
// transcendental as the few FLOPs its usual implementation takes (noted per
// op); matmul and attention dominate every model here, and their counts are
// the standard ones (2*M*N*K). Attention counts the full S x S score matrix
// even when causal, as Megatron's MFU formula does. Bytes are what one
// unfused execution reads plus writes; layout ops that are views (reshape)
// move nothing.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"

using namespace mlir;
using namespace mlir::weft;

static int64_t numElements(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getNumElements();
}

// Every operand read once and every result written once.
static int64_t streamBytes(Operation *op) {
  int64_t bytes = 0;
  for (Value v : op->getOperands())
    bytes += tensorBytes(v.getType());
  for (Value v : op->getResults())
    bytes += tensorBytes(v.getType());
  return bytes;
}

#define WEFT_COST(OP, FLOPS, BYTES)                                            \
  int64_t OP::getFlops() {                                                     \
    Operation *op = getOperation();                                            \
    (void)op;                                                                  \
    return FLOPS;                                                              \
  }                                                                            \
  int64_t OP::getBytesAccessed() {                                             \
    Operation *op = getOperation();                                            \
    (void)op;                                                                  \
    return BYTES;                                                              \
  }

// FLOPs per result element of an elementwise op.
#define WEFT_ELEMENTWISE_COST(OP, PER_ELEMENT)                                 \
  WEFT_COST(OP, (PER_ELEMENT) * numElements(op->getResult(0)), streamBytes(op))

WEFT_COST(ConstantOp, 0, tensorBytes(getType()))
WEFT_ELEMENTWISE_COST(AddOp, 1)
WEFT_ELEMENTWISE_COST(SubOp, 1)
WEFT_ELEMENTWISE_COST(MulOp, 1)
WEFT_ELEMENTWISE_COST(DivOp, 1)
WEFT_ELEMENTWISE_COST(MaxOp, 1)
WEFT_ELEMENTWISE_COST(MinOp, 1)
WEFT_ELEMENTWISE_COST(PowOp, 2)     // exp(y * log(x))
WEFT_ELEMENTWISE_COST(NegOp, 1)
WEFT_ELEMENTWISE_COST(ExpOp, 1)
WEFT_ELEMENTWISE_COST(LogOp, 1)
WEFT_ELEMENTWISE_COST(SqrtOp, 1)
WEFT_ELEMENTWISE_COST(RsqrtOp, 1)
WEFT_ELEMENTWISE_COST(TanhOp, 1)
WEFT_ELEMENTWISE_COST(SigmoidOp, 3) // exp, add, div
WEFT_ELEMENTWISE_COST(ReluOp, 1)
WEFT_ELEMENTWISE_COST(SiluOp, 4)    // sigmoid, mul
WEFT_ELEMENTWISE_COST(GeluOp, 8)    // the tanh form: a cubic, a tanh, 3 muls
WEFT_ELEMENTWISE_COST(CastOp, 0)

WEFT_COST(BroadcastInDimOp, 0, streamBytes(op))
WEFT_COST(ReshapeOp, 0, 0)
WEFT_COST(TransposeOp, 0, streamBytes(op))
WEFT_COST(SliceOp, 0, 2 * tensorBytes(getType()))
WEFT_COST(ConcatOp, 0, 2 * tensorBytes(getType()))

int64_t MatmulOp::getFlops() {
  RankedTensorType lhs = getLhs().getType();
  int64_t k = getTransposeA() ? lhs.getDimSize(lhs.getRank() - 2)
                              : lhs.getDimSize(lhs.getRank() - 1);
  return 2 * getType().getNumElements() * k;
}
int64_t MatmulOp::getBytesAccessed() {
  // A 2-D rhs broadcast over the batch is read once.
  return streamBytes(getOperation());
}

WEFT_COST(ReduceOp, numElements(getOperand()), streamBytes(op))
WEFT_COST(SoftmaxOp, 5 * numElements(getOperand()), streamBytes(op)) // max, sub, exp, sum, div
WEFT_COST(LayerNormOp, 8 * numElements(getX()), streamBytes(op))
WEFT_COST(RmsNormOp, 5 * numElements(getX()), streamBytes(op))
// Gathers rows: reads the ids and one row per id, writes the rows.
WEFT_COST(EmbeddingOp, 0,
          tensorBytes(getIds().getType()) + 2 * tensorBytes(getType()))

int64_t AttentionOp::getFlops() {
  RankedTensorType q = getQ().getType(), k = getK().getType(),
                   v = getV().getType();
  int64_t bh = q.getDimSize(0) * q.getDimSize(1);
  int64_t sq = q.getDimSize(2), sk = k.getDimSize(2);
  int64_t scores = bh * sq * sk;
  // q k^T, softmax over the scores, then p v.
  return 2 * scores * q.getDimSize(3) + 5 * scores + 2 * scores * v.getDimSize(3);
}
int64_t AttentionOp::getBytesAccessed() {
  // A fused kernel: q, k, v in and the output out; the scores stay on chip.
  return streamBytes(getOperation());
}

// max, sub, exp, sum, log per logit, plus the pick at the label.
WEFT_COST(CrossEntropyOp, 5 * numElements(getLogits()), streamBytes(op))

// Gradient ops: elementwise ones like their forward; the fused kernels
// recompute what they need (attention recomputes the probabilities, so it
// costs its forward plus two more products per operand).
WEFT_ELEMENTWISE_COST(ReluGradOp, 1)
WEFT_ELEMENTWISE_COST(SiluGradOp, 6)
WEFT_ELEMENTWISE_COST(SigmoidGradOp, 3)
WEFT_ELEMENTWISE_COST(TanhGradOp, 3)
WEFT_ELEMENTWISE_COST(GeluGradOp, 14)
WEFT_ELEMENTWISE_COST(MaxGradOp, 1)
WEFT_ELEMENTWISE_COST(MinGradOp, 1)
WEFT_ELEMENTWISE_COST(ScaleOp, 1)
WEFT_COST(PadOp, 0, streamBytes(op))
WEFT_COST(TpCopyOp, 0, 0) // a view
WEFT_COST(TpGatherOp, 0, 0) // a collective once weft-lower-tp-gather lowers it
WEFT_COST(ReshardOp, 0, 0) // collectives only, once weft-reshard lowers it
WEFT_COST(SoftmaxGradOp, 4 * numElements(getY()), streamBytes(op))
WEFT_COST(LayerNormGradOp, 12 * numElements(getX()), streamBytes(op))
WEFT_COST(RmsNormGradOp, 8 * numElements(getX()), streamBytes(op))
WEFT_COST(EmbeddingGradOp, numElements(getDy()), streamBytes(op))
WEFT_COST(CrossEntropyGradOp, 6 * numElements(getLogits()), streamBytes(op))
WEFT_COST(VocabShardStatsOp, 4 * numElements(getLogits()), streamBytes(op))  // sub, exp, add; the pick
WEFT_COST(VocabShardStatsGradOp, 4 * numElements(getLogits()), streamBytes(op))
WEFT_ELEMENTWISE_COST(SgdUpdateOp, 5)
WEFT_ELEMENTWISE_COST(AdamwUpdateOp, 14)

int64_t AttentionGradOp::getFlops() {
  RankedTensorType q = getQ().getType(), k = getK().getType(),
                   v = getV().getType();
  int64_t scores = q.getDimSize(0) * q.getDimSize(1) * q.getDimSize(2) * k.getDimSize(2);
  // Recomputed q k^T, then dv = p^T dy, dp = dy v^T, dq = ds k, dk = ds^T q.
  return 2 * scores * q.getDimSize(3) * 3 + 2 * scores * v.getDimSize(3) * 2 + 10 * scores;
}
int64_t AttentionGradOp::getBytesAccessed() { return streamBytes(getOperation()); }

// A fused region costs what its body computes, and moves only its inputs and
// results: that is the point of fusing.
int64_t FusedOp::getFlops() {
  int64_t flops = 0;
  for (Operation &op : getBody().front().without_terminator())
    if (auto cost = dyn_cast<CostOpInterface>(op))
      flops += cost.getFlops();
  return flops;
}
int64_t FusedOp::getBytesAccessed() { return streamBytes(getOperation()); }

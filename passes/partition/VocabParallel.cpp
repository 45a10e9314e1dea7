//===- VocabParallel.cpp - the vocabulary split of weft-partition-tensor --===//
//
// Megatron's vocabulary-parallel embedding, LM head and cross-entropy. The
// vocabulary dimension of the embedding table and of the LM head's weight
// (one tensor when they are tied) is split over tp:
//   - `weft.embedding {vocab_axis}` looks up the ids of its shard (zero rows
//     for the others) and one `shard.all_reduce` sums the shards;
//   - the head's input enters through `weft.tp_copy` (unless it is gathered
//     LSTM hidden states, LstmParallel.cpp) and each device computes the
//     logits of its shard of the vocabulary;
//   - `weft.cross_entropy` becomes the local maximum, an all-reduce max, the
//     shard's statistics (`weft.vocab_shard_stats`: sum of exp and the label's
//     logit), an all-reduce sum of those [rows, 2], and log(s0) - s1 averaged.
// The full logits are never gathered for the loss; a logits output of the
// model is marked split (`weft.split_dim`) and assembled by the runtime.
// A vocabulary that tp does not divide stays whole, with a warning (Megatron
// pads it; GPT-2's 50257 divides by nothing).
//
//===----------------------------------------------------------------------===//
#include "passes/partition/TensorSplit.h"

#include "llvm/ADT/MapVector.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

// logits = x @ W [+ broadcast(bias)] -> weft.cross_entropy, with the logits
// used by nothing else than the loss and the function's results.
struct Head {
  CrossEntropyOp ce;
  MatmulOp mm;
  BlockArgument weight;
  int64_t vocabDim; // of the weight
  BroadcastInDimOp bc; // with the bias, optional
  AddOp add;
  BlockArgument bias;
};

std::optional<Head> headOf(func::FuncOp fn, CrossEntropyOp ce) {
  Head h{ce, {}, {}, 0, {}, {}, {}};
  Value logits = ce.getLogits();
  for (Operation *user : logits.getUsers())
    if (user != ce && !isa<func::ReturnOp>(user))
      return std::nullopt;
  const int64_t rank = tensorTypeOf(logits).getRank();
  Value product = logits;
  if (auto add = logits.getDefiningOp<AddOp>()) {
    for (Value side : {add.getLhs(), add.getRhs()}) {
      auto bc = side.getDefiningOp<BroadcastInDimOp>();
      if (!bc || !side.hasOneUse() || bc.getOperand().getType().getRank() != 1 ||
          bc.getDims()[0] != rank - 1)
        continue;
      BlockArgument bias = paramOf(fn, bc.getOperand());
      if (!bias || !bias.hasOneUse())
        continue;
      h.bc = bc;
      h.add = add;
      h.bias = bias;
      product = side == add.getLhs() ? add.getRhs() : add.getLhs();
      break;
    }
    if (!h.add || !product.hasOneUse())
      return std::nullopt;
  }
  h.mm = product.getDefiningOp<MatmulOp>();
  if (!h.mm || h.mm.getTransposeA() || h.mm.getRhs().getType().getRank() != 2)
    return std::nullopt;
  h.weight = paramOf(fn, h.mm.getRhs());
  if (!h.weight)
    return std::nullopt;
  h.vocabDim = h.mm.getTransposeB() ? 0 : 1;
  return h;
}

// The loss on vocabulary shards, in place of `ce` (whose logits are local).
Value shardedCrossEntropy(const TensorSplit &split, CrossEntropyOp ce) {
  OpBuilder b(ce);
  Location loc = ce.getLoc();
  Value logits = ce.getLogits();
  auto shape = tensorTypeOf(logits).getShape();
  const int64_t rank = shape.size();
  Value localMax = ReduceOp::create(b, loc, logits, "max", ArrayRef<int64_t>{rank - 1}, false);
  Value max = split.allReduce(b, loc, localMax, shard::ReductionKind::Max);
  Value stats = VocabShardStatsOp::create(b, loc, logits, ce.getLabels(), max, split.axis);
  Value sums = split.allReduce(b, loc, stats);
  SmallVector<int64_t> start(rank, 0), limit(shape);
  limit.back() = 1;
  Value sumExp = SliceOp::create(b, loc, sums, start, limit);
  start.back() = 1;
  limit.back() = 2;
  Value label = SliceOp::create(b, loc, sums, start, limit);
  Value perRow = SubOp::create(b, loc, LogOp::create(b, loc, sumExp), label);
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  return ReduceOp::create(b, loc, perRow, "mean", all, false);
}

// `v` is made (through reshapes, slices and concats) of weft.tp_gather
// results only: the hidden states of a tensor-parallel LSTM.
bool gatheredOverTp(Value v) {
  Operation *def = v.getDefiningOp();
  if (isa_and_nonnull<TpGatherOp>(def))
    return true;
  if (isa_and_nonnull<ReshapeOp, SliceOp>(def))
    return gatheredOverTp(def->getOperand(0));
  if (auto concat = dyn_cast_or_null<ConcatOp>(def))
    return llvm::all_of(concat.getOperands(), gatheredOverTp);
  return false;
}

} // namespace

LogicalResult mlir::weft::splitVocabulary(const TensorSplit &split, bool &found) {
  func::FuncOp fn = split.fn;
  found = false;
  // Each vocabulary-carrying parameter with the dimension its uses split
  // (0 for a table, the head's vocabulary dimension for a weight); a
  // parameter used any other way, or split two ways, stays whole.
  llvm::MapVector<BlockArgument, int64_t> dims;
  DenseSet<BlockArgument> whole;
  SmallVector<Head> heads;
  SmallVector<EmbeddingOp> embeddings;
  auto claim = [&](BlockArgument p, int64_t dim) {
    auto [it, inserted] = dims.try_emplace(p, dim);
    if (!inserted && it->second != dim)
      whole.insert(p);
  };
  fn.walk([&](CrossEntropyOp ce) {
    if (auto h = headOf(fn, ce)) {
      heads.push_back(*h);
      claim(h->weight, h->vocabDim);
    }
  });
  fn.walk([&](EmbeddingOp e) {
    if (BlockArgument table = paramOf(fn, e.getTable())) {
      embeddings.push_back(e);
      claim(table, 0);
    }
  });
  for (auto &[p, dim] : dims) {
    for (OpOperand &use : p.getUses()) {
      Operation *user = use.getOwner();
      bool ok = (isa<EmbeddingOp>(user) && use.getOperandNumber() == 0) ||
                llvm::any_of(heads, [&](const Head &h) { return h.mm == user && use.getOperandNumber() == 1; });
      if (!ok)
        whole.insert(p);
    }
    const int64_t vocab = tensorTypeOf(p).getDimSize(dim);
    if (!whole.contains(p) && vocab % split.tp != 0) {
      auto name = fn.getArgAttrOfType<StringAttr>(p.getArgNumber(), WeftDialect::kParam);
      mlir::emitWarning(p.getLoc())
          << "the vocabulary of '" << name.getValue() << "' (dimension " << dim << ", " << vocab
          << ") is not divisible by tp=" << split.tp
          << ", so it stays whole on every device; pad it to a multiple of tp to split it";
      whole.insert(p);
    }
  }

  for (auto &[p, dim] : dims)
    if (!whole.contains(p)) {
      split.splitParam(p, dim);
      found = true;
    }
  Operation *ret = fn.front().getTerminator();
  Builder attrs(fn.getContext());
  for (Head &h : heads) {
    if (whole.contains(h.weight))
      continue;
    // The head's input gradient is a partial sum over tp. When the input is
    // gathered LSTM hidden states, the gather's gradient (a reduce-scatter)
    // already sums it; a tp_copy's all-reduce as well would count it twice.
    OpBuilder b(h.mm);
    if (!gatheredOverTp(h.mm.getLhs()))
      h.mm.setOperand(0, TpCopyOp::create(b, h.mm.getLoc(), h.mm.getLhs(), split.axis));
    const int64_t last = h.mm.getType().getRank() - 1;
    split.shrink(h.mm.getResult(), last);
    if (h.bias) {
      split.splitParam(h.bias, 0);
      split.shrink(h.bc.getResult(), last);
      split.shrink(h.add.getResult(), last);
    }
    Value logits = h.ce.getLogits();
    for (OpOperand &use : logits.getUses())
      if (use.getOwner() == ret)
        fn.setResultAttr(use.getOperandNumber(), "weft.split_dim", attrs.getI64IntegerAttr(last));
    Value loss = shardedCrossEntropy(split, h.ce);
    h.ce.getResult().replaceAllUsesWith(loss);
    h.ce.erase();
  }
  for (EmbeddingOp e : embeddings) {
    if (whole.contains(cast<BlockArgument>(e.getTable())))
      continue;
    e.setVocabAxisAttr(attrs.getI64IntegerAttr(split.axis));
    OpBuilder b(e->getBlock(), std::next(e->getIterator()));
    Value sum = split.allReduce(b, e.getLoc(), e.getResult());
    e.getResult().replaceAllUsesExcept(sum, sum.getDefiningOp());
  }
  return success();
}

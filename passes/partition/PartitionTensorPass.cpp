//===- PartitionTensorPass.cpp - weft-partition-tensor -------------------===//
//
// Megatron's split, as patterns: an MLP block is a column-parallel matmul
// (+ bias, + activation) into a row-parallel matmul; an attention block is
// q, k and v projections split by column (whole heads per device), local
// attention on those heads, and the output projection split by row. Each
// block costs one all-reduce forward and one backward. LSTM cells are split
// by hidden units (LstmParallel.cpp). The embedding, LM head
// and loss are split over the vocabulary (VocabParallel.cpp). Our own pass rather than upstream
// sharding-propagation + shard-partition (whose use on weft ops
// tests/lit/partition/ShardingInterface.mlir shows): the forward alone is
// not enough for training, because the gradient of the replicated input of
// a column-parallel matmul is a partial sum, and nothing in a partitioned
// forward says so. `weft.tp_copy` marks it, so that weft-autodiff can sum it.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"
#include "passes/partition/TensorSplit.h"

#include "mlir/IR/Verifier.h"

namespace mlir::weft {
#define GEN_PASS_DEF_PARTITIONTENSORPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

// A parameter of @forward used by one op only (so it can be split).
BlockArgument soleParam(func::FuncOp fn, Value v) {
  BlockArgument arg = paramOf(fn, v);
  return arg && arg.hasOneUse() ? arg : BlockArgument();
}

bool plainMatmulByParam(func::FuncOp fn, MatmulOp m) {
  return m && !m.getTransposeA() && !m.getTransposeB() && m.getRhs().getType().getRank() == 2 &&
         soleParam(fn, m.getRhs());
}

struct Pair {
  MatmulOp first, second;
  BlockArgument bias;             // optional
  SmallVector<Operation *> chain; // first's result to second's lhs, in order
};

// first -> [broadcast bias + add] -> [activation] -> second, single uses.
std::optional<Pair> matchFrom(func::FuncOp fn, MatmulOp first) {
  if (!plainMatmulByParam(fn, first))
    return std::nullopt;
  Pair p{first, {}, {}, {}};
  Value v = first.getResult();
  while (v.hasOneUse()) {
    Operation *user = *v.getUsers().begin();
    if (auto add = dyn_cast<AddOp>(user); add && !p.bias) {
      Value other = add.getLhs() == v ? add.getRhs() : add.getLhs();
      auto bc = other.getDefiningOp<BroadcastInDimOp>();
      if (!bc || !other.hasOneUse() || bc.getOperand().getType().getRank() != 1 ||
          bc.getDims()[0] != tt(v).getRank() - 1)
        return std::nullopt;
      BlockArgument bias = soleParam(fn, bc.getOperand());
      if (!bias)
        return std::nullopt;
      p.bias = bias;
      p.chain.push_back(bc);
      p.chain.push_back(add);
      v = add.getResult();
      continue;
    }
    if (isa<ReluOp, GeluOp, SiluOp, TanhOp, SigmoidOp>(user)) {
      p.chain.push_back(user);
      v = user->getResult(0);
      continue;
    }
    auto second = dyn_cast<MatmulOp>(user);
    if (second && second.getLhs() == v && plainMatmulByParam(fn, second)) {
      p.second = second;
      return p;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

// One of q, k, v: x @ W [+ b] -> reshape [B, S, H, Dh] -> transpose to
// [B, H, S, Dh], single uses all the way.
struct Head {
  MatmulOp mm;
  BlockArgument bias;             // optional
  SmallVector<Operation *> chain; // after mm: [broadcast, add], reshape, transpose
};

// An attention block: three heads into weft.attention, then transpose back,
// merge the heads, and x @ Wo.
struct AttentionBlock {
  Head qkv[3];
  AttentionOp attn;
  SmallVector<Operation *> after; // transpose, reshape
  MatmulOp out;
};

bool isHeadTranspose(TransposeOp t) {
  return t && t.getPerm() == ArrayRef<int64_t>{0, 2, 1, 3};
}

std::optional<Head> headFrom(func::FuncOp fn, Value operand) {
  auto tr = operand.getDefiningOp<TransposeOp>();
  if (!isHeadTranspose(tr) || !operand.hasOneUse())
    return std::nullopt;
  auto rs = tr.getOperand().getDefiningOp<ReshapeOp>();
  if (!rs || !rs.getResult().hasOneUse() || tt(rs.getResult()).getRank() != 4 ||
      tt(rs.getOperand()).getRank() != 3 || !rs.getOperand().hasOneUse())
    return std::nullopt;
  Head h;
  Value v = rs.getOperand();
  if (auto add = v.getDefiningOp<AddOp>()) {
    for (Value side : {add.getLhs(), add.getRhs()}) {
      auto bc = side.getDefiningOp<BroadcastInDimOp>();
      if (!bc || !side.hasOneUse() || bc.getOperand().getType().getRank() != 1)
        continue;
      if (BlockArgument bias = soleParam(fn, bc.getOperand())) {
        h.bias = bias;
        h.chain = {bc, add};
        v = side == add.getLhs() ? add.getRhs() : add.getLhs();
        break;
      }
    }
    if (!h.bias || !v.hasOneUse())
      return std::nullopt;
  }
  h.mm = v.getDefiningOp<MatmulOp>();
  if (!plainMatmulByParam(fn, h.mm))
    return std::nullopt;
  h.chain.push_back(rs);
  h.chain.push_back(tr);
  return h;
}

std::optional<AttentionBlock> attentionFrom(func::FuncOp fn, AttentionOp attn) {
  AttentionBlock blk;
  blk.attn = attn;
  Value ops[3] = {attn.getQ(), attn.getK(), attn.getV()};
  for (int i = 0; i < 3; ++i) {
    auto h = headFrom(fn, ops[i]);
    if (!h || h->mm.getLhs() != (i ? blk.qkv[0].mm.getLhs() : h->mm.getLhs()))
      return std::nullopt;
    blk.qkv[i] = *h;
  }
  Value v = attn.getResult();
  if (!v.hasOneUse())
    return std::nullopt;
  auto tr = dyn_cast<TransposeOp>(*v.getUsers().begin());
  if (!isHeadTranspose(tr) || !tr.getResult().hasOneUse())
    return std::nullopt;
  auto rs = dyn_cast<ReshapeOp>(*tr.getResult().getUsers().begin());
  if (!rs || tt(rs.getResult()).getRank() != 3 || !rs.getResult().hasOneUse())
    return std::nullopt;
  auto out = dyn_cast<MatmulOp>(*rs.getResult().getUsers().begin());
  if (!out || out.getLhs() != rs.getResult() || !plainMatmulByParam(fn, out))
    return std::nullopt;
  blk.after = {tr, rs};
  blk.out = out;
  return blk;
}

RankedTensorType withLast(RankedTensorType t, int64_t last) {
  SmallVector<int64_t> shape(t.getShape());
  shape.back() = last;
  return RankedTensorType::get(shape, t.getElementType());
}

struct PartitionTensorPass
    : mlir::weft::impl::PartitionTensorPassBase<PartitionTensorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tp <= 1)
      return;
    ModuleOp module = getOperation();
    func::FuncOp fn = getForward(module);
    if (!fn || fn.isExternal()) {
      module.emitError() << "weft-partition-tensor needs @forward";
      return signalPassFailure();
    }
    // On a data-parallel mesh, tp becomes its inner axis: dp x tp, so that
    // a tp group is neighbouring ranks (one node).
    auto grid = module.lookupSymbol<shard::GridOp>("mesh");
    if (grid && grid.getShape().size() != 1) {
      module.emitError() << "tensor parallelism needs a 1-D mesh to extend";
      return signalPassFailure();
    }
    const int64_t axis = grid ? 1 : 0;
    // Pairs in program order, each matmul in one pair at most (in an MLP of
    // several layers, layer 1 is a row split after layer 0, not a column one).
    SmallVector<Pair> pairs;
    llvm::SmallPtrSet<Operation *, 8> used;
    fn.walk([&](MatmulOp m) {
      if (used.contains(m))
        return;
      if (auto p = matchFrom(fn, m)) {
        used.insert(p->first);
        used.insert(p->second);
        pairs.push_back(*p);
      }
    });
    std::vector<AttentionBlock> blocks;
    fn.walk([&](AttentionOp a) {
      if (auto blk = attentionFrom(fn, a))
        blocks.push_back(*blk);
    });
    // Check every block before changing any.
    for (AttentionBlock &blk : blocks) {
      const int64_t heads = tt(blk.attn.getQ()).getShape()[1];
      for (Head &h : blk.qkv)
        if (tt(h.chain.back()->getResult(0)).getShape()[1] != heads) {
          blk.attn.emitError() << "q, k and v have different head counts; tensor parallelism "
                                  "needs them equal";
          return signalPassFailure();
        }
      if (heads % tp != 0) {
        blk.attn.emitError() << "the attention has " << heads << " heads, not divisible by tp="
                             << static_cast<int64_t>(tp) << " (each device takes whole heads)";
        return signalPassFailure();
      }
    }
    Builder b(&getContext());
    if (grid) {
      const int64_t dp = grid.getShape()[0];
      grid.setShape(ArrayRef<int64_t>{dp, tp});
      module->setAttr("weft.mesh", b.getDictionaryAttr({b.getNamedAttr("dp", b.getI64IntegerAttr(dp)),
                                                        b.getNamedAttr("tp", b.getI64IntegerAttr(tp))}));
    } else {
      OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
      shard::GridOp::create(mb, module.getLoc(), "mesh", ArrayRef<int64_t>{tp});
      module->setAttr("weft.mesh", b.getDictionaryAttr(b.getNamedAttr("tp", b.getI64IntegerAttr(tp))));
    }

    const TensorSplit splitter{fn, tp, axis};
    auto split = [&](BlockArgument arg, int64_t dim) { splitter.splitParam(arg, dim); };
    auto shrink = [&](Value v, int64_t dim) { splitter.shrink(v, dim); };
    auto allReduceAfter = [&](MatmulOp m) {
      OpBuilder after(m->getBlock(), std::next(m->getIterator()));
      Value sum = splitter.allReduce(after, m.getLoc(), m.getResult());
      m.getResult().replaceAllUsesExcept(sum, sum.getDefiningOp());
    };
    for (AttentionBlock &blk : blocks) {
      // One tp_copy for the three projections: their input gradients add up
      // locally, then one all-reduce sums them over tp.
      MatmulOp first = blk.qkv[0].mm;
      for (Head &h : blk.qkv)
        if (h.mm->isBeforeInBlock(first))
          first = h.mm;
      OpBuilder ob(first);
      Value in = TpCopyOp::create(ob, first.getLoc(), first.getLhs(), axis);
      for (Head &h : blk.qkv) {
        h.mm.setOperand(0, in);
        split(cast<BlockArgument>(h.mm.getRhs()), 1);
        if (h.bias)
          split(h.bias, 0);
        shrink(h.mm.getResult(), 2);
        for (Operation *op : h.chain)  // [broadcast, add] [B,S,D]; reshape [B,S,H,Dh]; transpose [B,H,S,Dh]
          shrink(op->getResult(0), isa<TransposeOp>(op) ? 1 : 2);
      }
      shrink(blk.attn.getResult(), 1);
      shrink(blk.after[0]->getResult(0), 2);  // [B, S, H/tp, Dh]
      shrink(blk.after[1]->getResult(0), 2);  // [B, S, D/tp]
      split(cast<BlockArgument>(blk.out.getRhs()), 0);
      allReduceAfter(blk.out);  // the row-parallel products are partial sums
    }
    for (Pair &p : pairs) {
      const int64_t n = tt(p.first.getResult()).getShape().back();
      if (n % tp != 0) {
        p.first.emitError() << "the hidden width " << n << " is not divisible by tp=" << static_cast<int64_t>(tp);
        return signalPassFailure();
      }
      const int64_t local = n / tp;
      // The replicated input enters the parallel region.
      OpBuilder ob(p.first);
      Value in = TpCopyOp::create(ob, p.first.getLoc(), p.first.getLhs(), axis);
      p.first.setOperand(0, in);
      split(cast<BlockArgument>(p.first.getRhs()), 1);
      if (p.bias)
        split(p.bias, 0);
      split(cast<BlockArgument>(p.second.getRhs()), 0);
      p.first.getResult().setType(withLast(tt(p.first.getResult()), local));
      for (Operation *op : p.chain)
        op->getResult(0).setType(withLast(tt(op->getResult(0)), local));
      allReduceAfter(p.second);  // the row-parallel products are partial sums
    }
    // The LSTM before the vocabulary: the head must see the gathered h.
    bool lstm = false, vocabulary = false;
    if (failed(splitLstm(splitter, lstm)) || failed(splitVocabulary(splitter, vocabulary)) ||
        failed(checkGatheredUses(splitter)))
      return signalPassFailure();
    if (pairs.empty() && blocks.empty() && !lstm && !vocabulary) {
      fn.emitError() << "--tp-style=megatron found nothing to split: no MLP block (a matmul by "
                        "a parameter, an optional bias and activation, then a matmul by a "
                        "parameter), no attention block (q, k, v projections split into heads, "
                        "weft.attention, the output projection), no LSTM cell (x @ W_ih + h @ "
                        "W_hh + b sliced into four gates) and no embedding or LM head whose "
                        "vocabulary tp divides";
      return signalPassFailure();
    }
    fn.setFunctionType(b.getFunctionType(fn.front().getArgumentTypes(),
                                         fn.front().getTerminator()->getOperandTypes()));
    if (failed(verify(fn))) {
      fn.emitError() << "internal error: the tensor split produced invalid IR";
      return signalPassFailure();
    }
  }
};

} // namespace

//===- AutodiffPass.cpp - weft-autodiff ----------------------------------===//
//
// Reverse-mode automatic differentiation of @forward. One block, no control
// flow: walk the ops backwards from the loss, apply each op's rule to turn
// result adjoints into operand adjoints, and sum adjoints that meet. Only
// values that depend on a parameter are differentiated (activity analysis
// on the way forward). Written here rather than with MLIR's Enzyme-style
// autodiff because upstream MLIR 22 has none for tensor ops; the rules are
// the textbook ones, one small function per op below.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::weft {
#define GEN_PASS_DEF_AUTODIFFPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

class Differentiator {
public:
  Differentiator(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  // Adds `g` to the adjoint of `v`.
  void accumulate(Value v, Value g) {
    auto it = adjoint.find(v);
    if (it == adjoint.end())
      adjoint[v] = g;
    else
      it->second = AddOp::create(b, loc, it->second, g);
  }

  Value scalarF32(float x) {
    auto t = RankedTensorType::get({}, b.getF32Type());
    return ConstantOp::create(b, loc, DenseElementsAttr::get(t, x));
  }

  // A tensor of zeros: one scalar constant broadcast (a fill, not a big
  // constant in the artifact).
  Value zerosLike(Type type) {
    auto t = cast<RankedTensorType>(type);
    Value zero = ConstantOp::create(
        b, loc, DenseElementsAttr::get(RankedTensorType::get({}, t.getElementType()),
                                       b.getZeroAttr(t.getElementType())));
    return BroadcastInDimOp::create(b, loc, t, zero, ArrayRef<int64_t>{});
  }

  // Sums `g` (of `from`'s broadcast shape) back to the shape of `to`, for
  // the operand of a broadcast_in_dim with `dims`.
  Value unbroadcast(Value g, RankedTensorType to, ArrayRef<int64_t> dims) {
    RankedTensorType from = tt(g);
    SmallVector<int64_t> reduced;
    SmallVector<bool> mapped(from.getRank(), false);
    for (auto [i, d] : llvm::enumerate(dims)) {
      mapped[d] = true;
      if (to.getDimSize(i) == 1 && from.getDimSize(d) != 1)
        reduced.push_back(d);
    }
    for (int64_t d = 0; d < from.getRank(); ++d)
      if (!mapped[d])
        reduced.push_back(d);
    llvm::sort(reduced);
    Value r = reduced.empty() ? g
                              : Value(ReduceOp::create(b, loc, g, "sum", reduced, false));
    return tt(r) == to ? r : Value(ReshapeOp::create(b, loc, to, r));
  }

  LogicalResult differentiate(Operation *op);

  DenseMap<Value, Value> adjoint;
  DenseSet<Value> active;

private:
  bool isActive(Value v) { return active.contains(v); }
  Value dy(Operation *op, unsigned i = 0) { return adjoint.lookup(op->getResult(i)); }
  void give(Value operand, Value g) {
    if (isActive(operand))
      accumulate(operand, g);
  }
  LogicalResult matmul(MatmulOp op);

  OpBuilder &b;
  Location loc;
};

LogicalResult Differentiator::matmul(MatmulOp op) {
  Value a = op.getLhs(), w = op.getRhs(), g = dy(op);
  bool ta = op.getTransposeA(), tb = op.getTransposeB();
  RankedTensorType at = tt(a), wt = tt(w);
  int64_t rank = at.getRank();
  auto swapLast = [&](Value v) {
    SmallVector<int64_t> perm;
    for (int64_t i = 0; i < tt(v).getRank(); ++i)
      perm.push_back(i);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    return Value(TransposeOp::create(b, loc, v, perm));
  };
  if (isActive(a)) {
    // d op(A) = dY op(B)^T, then undo op on A.
    Value dOpA = MatmulOp::create(b, loc, g, w, false, !tb);
    give(a, ta ? swapLast(dOpA) : dOpA);
  }
  if (isActive(w)) {
    bool shared = wt.getRank() == 2 && rank > 2;
    Value dW;
    if (shared && !ta) {
      // One GEMM over the flattened batch: [BM, K]^T [BM, N].
      int64_t m = at.getDimSize(rank - 2), k = at.getDimSize(rank - 1);
      int64_t bm = at.getNumElements() / k;
      int64_t n = tt(g).getShape().back();
      (void)m;
      Value a2 = ReshapeOp::create(b, loc, RankedTensorType::get({bm, k}, at.getElementType()), a);
      Value g2 = ReshapeOp::create(b, loc, RankedTensorType::get({bm, n}, at.getElementType()), g);
      dW = tb ? Value(MatmulOp::create(b, loc, g2, a2, true, false))
              : Value(MatmulOp::create(b, loc, a2, g2, true, false));
    } else {
      // Per batch entry: d op(B) = op(A)^T dY; then undo op on B.
      Value dOpB = MatmulOp::create(b, loc, a, g, !ta, false);
      dW = tb ? swapLast(dOpB) : dOpB;
      if (shared) {
        SmallVector<int64_t> batchDims;
        for (int64_t i = 0; i + 2 < tt(dW).getRank(); ++i)
          batchDims.push_back(i);
        dW = ReduceOp::create(b, loc, dW, "sum", batchDims, false);
      }
    }
    give(w, dW);
  }
  return success();
}

LogicalResult Differentiator::differentiate(Operation *op) {
  // Gradient ops carry their forward op's location, so profiles and errors
  // of the backward pass point at the model line they differentiate.
  loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](ConstantOp) { return success(); })
      .Case([&](AddOp o) {
        give(o.getLhs(), dy(o));
        give(o.getRhs(), dy(o));
        return success();
      })
      .Case([&](SubOp o) {
        give(o.getLhs(), dy(o));
        if (isActive(o.getRhs()))
          give(o.getRhs(), NegOp::create(b, loc, dy(o)));
        return success();
      })
      .Case([&](MulOp o) {
        if (isActive(o.getLhs()))
          give(o.getLhs(), MulOp::create(b, loc, dy(o), o.getRhs()));
        if (isActive(o.getRhs()))
          give(o.getRhs(), MulOp::create(b, loc, dy(o), o.getLhs()));
        return success();
      })
      .Case([&](DivOp o) {
        if (isActive(o.getLhs()))
          give(o.getLhs(), DivOp::create(b, loc, dy(o), o.getRhs()));
        if (isActive(o.getRhs())) {
          // d(a/b)/db = -(a/b)/b
          Value q = DivOp::create(b, loc, o.getResult(), o.getRhs());
          give(o.getRhs(), NegOp::create(b, loc, MulOp::create(b, loc, dy(o), q)));
        }
        return success();
      })
      .Case([&](MaxOp o) {
        Value da = MaxGradOp::create(b, loc, o.getLhs(), o.getRhs(), dy(o));
        give(o.getLhs(), da);
        if (isActive(o.getRhs()))
          give(o.getRhs(), SubOp::create(b, loc, dy(o), da));
        return success();
      })
      .Case([&](MinOp o) {
        Value da = MinGradOp::create(b, loc, o.getLhs(), o.getRhs(), dy(o));
        give(o.getLhs(), da);
        if (isActive(o.getRhs()))
          give(o.getRhs(), SubOp::create(b, loc, dy(o), da));
        return success();
      })
      .Case([&](PowOp o) {
        // y = a^b: dy/da = b * y / a, dy/db = y * log(a).
        Value y = o.getResult();
        if (isActive(o.getLhs()))
          give(o.getLhs(), MulOp::create(b, loc, dy(o),
                                         MulOp::create(b, loc, o.getRhs(),
                                                       DivOp::create(b, loc, y, o.getLhs()))));
        if (isActive(o.getRhs()))
          give(o.getRhs(), MulOp::create(b, loc, dy(o),
                                         MulOp::create(b, loc, y, LogOp::create(b, loc, o.getLhs()))));
        return success();
      })
      .Case([&](NegOp o) {
        give(o.getOperand(), NegOp::create(b, loc, dy(o)));
        return success();
      })
      .Case([&](ExpOp o) {
        give(o.getOperand(), MulOp::create(b, loc, dy(o), o.getResult()));
        return success();
      })
      .Case([&](LogOp o) {
        give(o.getOperand(), DivOp::create(b, loc, dy(o), o.getOperand()));
        return success();
      })
      .Case([&](SqrtOp o) {
        give(o.getOperand(),
             ScaleOp::create(b, loc, DivOp::create(b, loc, dy(o), o.getResult()),
                             b.getF32FloatAttr(0.5f)));
        return success();
      })
      .Case([&](RsqrtOp o) {
        // d(a^-1/2)/da = -y^3 / 2
        Value y = o.getResult();
        Value y3 = MulOp::create(b, loc, y, MulOp::create(b, loc, y, y));
        give(o.getOperand(), ScaleOp::create(b, loc, MulOp::create(b, loc, dy(o), y3),
                                             b.getF32FloatAttr(-0.5f)));
        return success();
      })
      .Case([&](TanhOp o) {
        give(o.getOperand(), TanhGradOp::create(b, loc, o.getResult(), dy(o)));
        return success();
      })
      .Case([&](SigmoidOp o) {
        give(o.getOperand(), SigmoidGradOp::create(b, loc, o.getResult(), dy(o)));
        return success();
      })
      .Case([&](ReluOp o) {
        give(o.getOperand(), ReluGradOp::create(b, loc, o.getOperand(), dy(o)));
        return success();
      })
      .Case([&](SiluOp o) {
        give(o.getOperand(), SiluGradOp::create(b, loc, o.getOperand(), dy(o)));
        return success();
      })
      .Case([&](GeluOp o) {
        give(o.getOperand(),
             GeluGradOp::create(b, loc, o.getOperand(), dy(o), o.getApproximate()));
        return success();
      })
      .Case([&](CastOp o) {
        give(o.getOperand(), CastOp::create(b, loc, o.getOperand().getType(), dy(o)));
        return success();
      })
      .Case([&](BroadcastInDimOp o) {
        give(o.getOperand(), unbroadcast(dy(o), o.getOperand().getType(), o.getDims()));
        return success();
      })
      .Case([&](ReshapeOp o) {
        give(o.getOperand(), ReshapeOp::create(b, loc, o.getOperand().getType(), dy(o)));
        return success();
      })
      .Case([&](TransposeOp o) {
        SmallVector<int64_t> inverse(o.getPerm().size());
        for (auto [i, p] : llvm::enumerate(o.getPerm()))
          inverse[p] = i;
        give(o.getOperand(), TransposeOp::create(b, loc, dy(o), inverse));
        return success();
      })
      .Case([&](SliceOp o) {
        SmallVector<int64_t> high;
        for (auto [i, lim] : llvm::enumerate(o.getLimit()))
          high.push_back(o.getOperand().getType().getDimSize(i) - lim);
        give(o.getOperand(), PadOp::create(b, loc, dy(o), o.getStart(), high));
        return success();
      })
      .Case([&](ConcatOp o) {
        RankedTensorType rt = o.getType();
        int64_t dim = static_cast<int64_t>(o.getDim());
        if (dim < 0)
          dim += rt.getRank();
        int64_t at = 0;
        for (Value in : o.getInputs()) {
          int64_t size = tt(in).getDimSize(dim);
          if (isActive(in)) {
            SmallVector<int64_t> start(rt.getRank(), 0), limit(rt.getShape());
            start[dim] = at;
            limit[dim] = at + size;
            give(in, SliceOp::create(b, loc, dy(o), start, limit));
          }
          at += size;
        }
        return success();
      })
      .Case([&](MatmulOp o) { return matmul(o); })
      .Case([&](ReduceOp o) {
        RankedTensorType in = o.getOperand().getType();
        SmallVector<int64_t> reduced;
        for (int64_t d : o.getDims())
          reduced.push_back(d < 0 ? d + in.getRank() : d);
        // Where each dimension of dy lands in the operand.
        SmallVector<int64_t> dims;
        for (int64_t d = 0; d < in.getRank(); ++d)
          if (o.getKeepDims() || !llvm::is_contained(reduced, d))
            dims.push_back(d);
        Value g = BroadcastInDimOp::create(b, loc, in, dy(o), dims);
        if (o.getKind() == "mean") {
          int64_t count = 1;
          for (int64_t d : reduced)
            count *= in.getDimSize(d);
          g = ScaleOp::create(b, loc, g, b.getF32FloatAttr(1.0f / count));
        } else if (o.getKind() == "max") {
          Value y = BroadcastInDimOp::create(b, loc, in, o.getResult(), dims);
          g = MaxGradOp::create(b, loc, o.getOperand(), y, g);
        }
        give(o.getOperand(), g);
        return success();
      })
      .Case([&](SoftmaxOp o) {
        give(o.getOperand(), SoftmaxGradOp::create(b, loc, o.getResult(), dy(o), o.getDim()));
        return success();
      })
      .Case([&](LayerNormOp o) {
        auto g = LayerNormGradOp::create(b, loc, o.getX(), o.getGamma(), dy(o), o.getEps());
        give(o.getX(), g.getDx());
        give(o.getGamma(), g.getDgamma());
        give(o.getBeta(), g.getDbeta());
        return success();
      })
      .Case([&](RmsNormOp o) {
        auto g = RmsNormGradOp::create(b, loc, o.getX(), o.getGamma(), dy(o), o.getEps());
        give(o.getX(), g.getDx());
        give(o.getGamma(), g.getDgamma());
        return success();
      })
      .Case([&](EmbeddingOp o) {
        int64_t vocab = o.getTable().getType().getDimSize(0);
        give(o.getTable(), EmbeddingGradOp::create(b, loc, o.getIds(), dy(o), vocab,
                                                   o.getVocabAxisAttr()));
        return success();
      })
      .Case([&](AttentionOp o) {
        auto g = AttentionGradOp::create(b, loc, o.getQ(), o.getK(), o.getV(), dy(o),
                                         o.getCausalAttr(), o.getScaleAttr());
        give(o.getQ(), g.getDq());
        give(o.getK(), g.getDk());
        give(o.getV(), g.getDv());
        return success();
      })
      .Case([&](CrossEntropyOp o) {
        give(o.getLogits(),
             CrossEntropyGradOp::create(b, loc, o.getLogits(), o.getLabels(), dy(o)));
        return success();
      })
      .Case([&](ReshardOp o) {
        // A change of layout, the identity on the global value: the gradient
        // goes back from `to` to `from`. A partial source's addends each get
        // the whole gradient, so its partial axes come back replicated.
        SmallVector<StringRef> axes;
        o.getFrom().split(axes, ',');
        std::string back;
        for (auto [i, a] : llvm::enumerate(axes))
          back += (i ? "," : "") + (a.trim() == "P" ? std::string("R") : a.trim().str());
        give(o.getOperand(), ReshardOp::create(b, loc, o.getOperand().getType(), dy(o),
                                               o.getTo(), back));
        return success();
      })
      .Case([&](VocabShardStatsOp o) {
        // Only to the logits: the loss does not depend on the max.
        give(o.getLogits(), VocabShardStatsGradOp::create(b, loc, o.getLogits(), o.getLabels(),
                                                          o.getMax(), dy(o), o.getVocabAxis()));
        return success();
      })
      .Case([&](TpCopyOp o) {
        // Megatron's f: each device holds a partial gradient of the
        // replicated input; their sum is the gradient.
        auto axis = static_cast<shard::GridAxis>(o.getGridAxis());
        give(o.getOperand(), shard::AllReduceOp::create(b, loc, dy(o), "mesh",
                                                        ArrayRef<shard::GridAxis>{axis},
                                                        shard::ReductionKind::Sum));
        return success();
      })
      .Case([&](TpGatherOp o) {
        // Every reader of the gathered value is a column-parallel matmul, so
        // each device's cotangent is a partial sum: sum it over tp and keep
        // this device's slice (Megatron's gather/reduce-scatter pair).
        auto axis = static_cast<shard::GridAxis>(o.getGridAxis());
        give(o.getOperand(),
             shard::ReduceScatterOp::create(b, loc, o.getOperand().getType(), "mesh",
                                            ArrayRef<shard::GridAxis>{axis}, dy(o),
                                            shard::ReductionKind::Sum, llvm::APInt(64, o.getDim())));
        return success();
      })
      .Case([&](shard::AllReduceOp o) -> LogicalResult {
        // Megatron's g: the sum is replicated, so is its gradient; each
        // partial term gets it whole.
        if (o.getReduction() != shard::ReductionKind::Sum)
          return o.emitError() << "cannot differentiate a non-sum all-reduce";
        give(o.getInput(), dy(o));
        return success();
      })
      .Default([&](Operation *other) {
        return other->emitError() << "cannot differentiate '" << other->getName()
                                  << "': it has no gradient rule";
      });
}

struct AutodiffPass : mlir::weft::impl::AutodiffPassBase<AutodiffPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp forward = getForward(module);
    if (!forward || forward.isExternal()) {
      module.emitError() << "weft-autodiff needs a 'func.func @forward' with a body";
      return signalPassFailure();
    }
    if (failed(buildTrainStep(module, forward, recompute)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult mlir::weft::buildTrainStep(ModuleOp module, func::FuncOp forward, bool recompute,
                                         StringRef name) {
  if (module.lookupSymbol(name)) {
    module.emitError() << "the module already has a @" << name;
    return failure();
  }
  std::optional<unsigned> lossIndex;
  for (unsigned i = 0; i < forward.getNumResults(); ++i)
    if (forward.getResultAttr(i, WeftDialect::kLoss))
      lossIndex = i;
  if (!lossIndex) {
    forward.emitError() << "training needs a scalar result marked {weft.loss}; "
                           "@forward has none";
    return failure();
  }

  // @train_step starts as a copy of @forward.
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto step = cast<func::FuncOp>(mb.clone(*forward));
  step.setName(name);
  Block &block = step.getBody().front();
  Operation *ret = block.getTerminator();

  SmallVector<BlockArgument> params;
  for (BlockArgument arg : step.getArguments())
    if (step.getArgAttr(arg.getArgNumber(), WeftDialect::kParam))
      params.push_back(arg);

  OpBuilder b(ret);
  Differentiator diff(b, forward.getLoc());
  for (BlockArgument p : params)
    diff.active.insert(p);
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator()) {
    ops.push_back(&op);
    if (llvm::any_of(op.getOperands(), [&](Value v) { return diff.active.contains(v); }))
      for (Value r : op.getResults())
        diff.active.insert(r);
  }
  Value loss = ret->getOperand(*lossIndex);
  if (!diff.active.contains(loss)) {
    forward.emitError() << "the loss does not depend on any parameter";
    return failure();
  }
  diff.adjoint[loss] = diff.scalarF32(1.0f);

  // Recomputation: the ops of each weft.block, in forward order.
  DenseMap<int64_t, SmallVector<Operation *>> blocks;
  if (recompute)
    for (Operation *op : ops)
      if (auto tag = op->getAttrOfType<IntegerAttr>("weft.block"))
        blocks[tag.getInt()].push_back(op);
  DenseMap<Operation *, Operation *> recomputed; // forward op -> its clone
  auto recomputeBlock = [&](int64_t index) {
    // Clone the block where the backward pass stands now; values from
    // outside the block (its saved inputs, parameters) are used as they are.
    IRMapping map;
    for (Operation *op : blocks[index]) {
      Operation *clone = b.clone(*op, map);
      clone->removeAttr("weft.block");
      recomputed[op] = clone;
      for (auto [r, c] : llvm::zip(op->getResults(), clone->getResults()))
        if (diff.active.contains(r))
          diff.active.insert(c);
    }
    // Adjoints already gathered for the block's values move to the clones.
    for (Operation *op : blocks[index])
      for (auto [r, c] : llvm::zip(op->getResults(), recomputed[op]->getResults()))
        if (auto it = diff.adjoint.find(r); it != diff.adjoint.end())
          diff.adjoint[c] = it->second;
  };

  for (Operation *forwardOp : llvm::reverse(ops)) {
    Operation *op = forwardOp;
    if (auto tag = forwardOp->getAttrOfType<IntegerAttr>("weft.block");
        tag && blocks.count(tag.getInt())) {
      if (!recomputed.count(forwardOp)) {
        b.setInsertionPoint(ret);
        recomputeBlock(tag.getInt());
      }
      op = recomputed[forwardOp];
    }
    if (llvm::none_of(op->getResults(), [&](Value r) { return diff.adjoint.count(r); }))
      continue;
    // Results without an adjoint (unused outputs of a multi-result op)
    // contribute zero.
    for (Value r : op->getResults())
      if (!diff.adjoint.count(r))
        diff.adjoint[r] = diff.zerosLike(r.getType());
    b.setInsertionPoint(ret);
    if (failed(diff.differentiate(op)))
      return failure();
  }

  // Recomputed values the backward pass did not need are dropped.
  SmallVector<Operation *> clones;
  for (auto &[op, clone] : recomputed)
    clones.push_back(clone);
  llvm::sort(clones, [](Operation *x, Operation *y) { return y->isBeforeInBlock(x); });
  for (Operation *clone : clones)
    if (clone->use_empty())
      clone->erase();

  // Return the gradients after the original results.
  SmallVector<Value> results(ret->getOperands());
  SmallVector<DictionaryAttr> resultAttrs;
  step.getAllResultAttrs(resultAttrs);
  for (BlockArgument p : params) {
    Value g = diff.adjoint.lookup(p);
    if (!g)
      g = diff.zerosLike(p.getType());
    results.push_back(g);
    resultAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
        "weft.grad", step.getArgAttr(p.getArgNumber(), WeftDialect::kParam))));
  }
  func::ReturnOp::create(b, ret->getLoc(), results);
  ret->erase();
  step.setFunctionType(b.getFunctionType(step.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  step.setAllResultAttrs(resultAttrs);
  return success();
}

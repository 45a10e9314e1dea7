//===- PartitionTensorPass.cpp - weft-partition-tensor -------------------===//
//
// Megatron's MLP split, as a pattern: column-parallel matmul (+ bias,
// + activation) into row-parallel matmul. Our own pass rather than upstream
// sharding-propagation + shard-partition (whose use on weft ops
// tests/lit/partition/ShardingInterface.mlir shows): the forward alone is
// not enough for training, because the gradient of the replicated input of
// a column-parallel matmul is a partial sum, and nothing in a partitioned
// forward says so. `weft.tp_copy` marks it, so that weft-autodiff can sum it.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

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
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &fn.front() || !arg.hasOneUse() ||
      !fn.getArgAttr(arg.getArgNumber(), WeftDialect::kParam))
    return {};
  return arg;
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
    if (pairs.empty()) {
      fn.emitError() << "--tp-style=megatron found no MLP block to split (a matmul by a "
                        "parameter, an optional bias and activation, then a matmul by a "
                        "parameter); attention and embeddings are not split yet";
      return signalPassFailure();
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

    auto split = [&](BlockArgument arg, int64_t dim) {
      auto t = tt(arg);
      fn.setArgAttr(arg.getArgNumber(), "weft.global_shape", b.getDenseI64ArrayAttr(t.getShape()));
      fn.setArgAttr(arg.getArgNumber(), "weft.split_dim", b.getI64IntegerAttr(dim));
      SmallVector<int64_t> shape(t.getShape());
      shape[dim] /= tp;
      arg.setType(RankedTensorType::get(shape, t.getElementType()));
    };
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
      // The row-parallel products are partial sums.
      OpBuilder after(p.second->getBlock(), std::next(p.second->getIterator()));
      Value sum = shard::AllReduceOp::create(after, p.second.getLoc(), p.second.getResult(), "mesh",
                                             ArrayRef<shard::GridAxis>{static_cast<shard::GridAxis>(axis)},
                                             shard::ReductionKind::Sum);
      p.second.getResult().replaceAllUsesExcept(sum, sum.getDefiningOp());
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

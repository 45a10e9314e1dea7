//===- PartitionBatchPass.cpp - weft-partition-batch ---------------------===//
//
// Data parallelism as a batch split. Propagation marks every value whose
// dimension 0 is the batch: an op links its result's dimension 0 to the
// operands whose dimension 0 it comes from (all operands of an elementwise
// op, the lhs of a matmul, the ids of an embedding, ...), and a mark on any
// linked value spreads to all of them, forwards and backwards, until nothing
// changes. Then the marked values get their local shapes. See Passes.td for
// why this is not upstream's sharding-propagation yet.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::weft {
#define GEN_PASS_DEF_PARTITIONBATCHPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp, LogOp, SqrtOp,
             RsqrtOp, TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp, CastOp>(op);
}

// The operands whose dimension 0 is the result's dimension 0, or failure
// with the reason when a marked value cannot keep its batch in place.
struct Links {
  SmallVector<Value> values; // linked operands and results
  std::string blocker;       // non-empty: the op moves or reduces the batch
};

Links linksOf(Operation *op) {
  Links l;
  auto all = [&](ValueRange vs) { l.values.append(vs.begin(), vs.end()); };
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](BroadcastInDimOp b) {
        all(b->getResults());
        auto dims = b.getDims();
        if (!dims.empty() && dims[0] == 0 &&
            b.getOperand().getType().getDimSize(0) == b.getType().getDimSize(0))
          l.values.push_back(b.getOperand());
      })
      .Case([&](MatmulOp m) {
        all(m->getResults());
        if (m.getTransposeA())
          l.blocker = "a matmul with transpose_a contracts over the batch";
        l.values.push_back(m.getLhs());
        if (m.getRhs().getType().getRank() > 2)
          l.values.push_back(m.getRhs());
      })
      .Case([&](EmbeddingOp e) { l.values = {e.getResult(), e.getIds()}; })
      .Case([&](AttentionOp a) { l.values = {a.getResult(), a.getQ(), a.getK(), a.getV()}; })
      .Case([&](LayerNormOp n) { l.values = {n.getResult(), n.getX()}; })
      .Case([&](RmsNormOp n) { l.values = {n.getResult(), n.getX()}; })
      .Case([&](SoftmaxOp s) {
        l.values = {s.getResult(), s.getOperand()};
        int64_t d = static_cast<int64_t>(s.getDim());
        if (d == 0 || d == -s.getType().getRank())
          l.blocker = "a softmax over the batch dimension";
      })
      .Case([&](CrossEntropyOp c) {
        // The loss is a mean over the local batch; weft-sync-gradients
        // averages it over the devices.
        l.values = {c.getLogits(), c.getLabels()};
      })
      .Case([&](ReduceOp r) {
        l.values = {r.getResult(), r.getOperand()};
        for (int64_t d : r.getDims())
          if (d == 0 || d == -r.getOperand().getType().getRank())
            l.blocker = "a reduction over the batch dimension";
      })
      .Case([&](TransposeOp t) {
        l.values = {t.getResult(), t.getOperand()};
        if (t.getPerm()[0] != 0)
          l.blocker = "a transpose that moves the batch dimension";
      })
      .Case([&](ReshapeOp r) {
        l.values = {r.getResult(), r.getOperand()};
        if (r.getType().getRank() == 0 || r.getOperand().getType().getRank() == 0 ||
            r.getType().getDimSize(0) != r.getOperand().getType().getDimSize(0))
          l.blocker = "a reshape that merges or splits the batch dimension";
      })
      .Case([&](SliceOp s) {
        l.values = {s.getResult(), s.getOperand()};
        if (s.getStart()[0] != 0 || s.getLimit()[0] != s.getOperand().getType().getDimSize(0))
          l.blocker = "a slice of the batch dimension";
      })
      .Case([&](ConcatOp c) {
        all(c->getResults());
        all(c.getInputs());
        int64_t d = static_cast<int64_t>(c.getDim());
        if (d == 0 || d == -c.getType().getRank())
          l.blocker = "a concatenation along the batch dimension";
      })
      .Case([&](ConstantOp c) { all(c->getResults()); })
      .Default([&](Operation *other) {
        if (isElementwise(other)) {
          all(other->getResults());
          all(other->getOperands());
        }
      });
  return l;
}

struct PartitionBatchPass
    : mlir::weft::impl::PartitionBatchPassBase<PartitionBatchPass> {
  using Base::Base;

  void runOnOperation() override {
    // Under pipelines each device's share is cut once more, into
    // microbatches: @forward becomes one microbatch's step. Only dp is a
    // mesh axis (weft-pipeline runs the microbatches one after another).
    const int64_t split = dp * microbatches;
    const std::string over = microbatches > 1
                                 ? "dp x microbatches = " + std::to_string(split)
                                 : "dp=" + std::to_string(static_cast<int64_t>(dp));
    if (split <= 1)
      return;
    ModuleOp module = getOperation();
    func::FuncOp fn = getForward(module);
    if (!fn || fn.isExternal()) {
      module.emitError() << "weft-partition-batch needs @forward";
      return signalPassFailure();
    }
    Builder b(&getContext());

    // The global batch, shared by every input.
    int64_t batch = -1;
    DenseSet<Value> marked;
    for (BlockArgument arg : fn.getArguments()) {
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), WeftDialect::kInput);
      if (!name)
        continue;
      int64_t b0 = tt(arg).getDimSize(0);
      if (batch < 0)
        batch = b0;
      if (b0 != batch) {
        emitError(arg.getLoc()) << "input '" << name.getValue() << "' has batch " << b0
                                << " but the other inputs have " << batch
                                << "; data parallelism splits one batch";
        return signalPassFailure();
      }
      if (b0 % split != 0) {
        emitError(arg.getLoc()) << "the batch of input '" << name.getValue() << "' (" << b0
                                << ") is not divisible by " << over;
        return signalPassFailure();
      }
      marked.insert(arg);
    }
    if (batch < 0) {
      fn.emitError() << "data parallelism needs at least one input to split";
      return signalPassFailure();
    }

    // Spread the marks to a fixpoint.
    Block &block = fn.getBody().front();
    bool changed = true;
    while (changed) {
      changed = false;
      for (Operation &op : block.without_terminator()) {
        Links l = linksOf(&op);
        if (llvm::none_of(l.values, [&](Value v) { return marked.contains(v); }))
          continue;
        if (!l.blocker.empty()) {
          op.emitError() << "cannot split the batch over " << over << ": " << l.blocker
                         << " is not supported yet";
          return signalPassFailure();
        }
        for (Value v : l.values)
          changed |= marked.insert(v).second;
      }
    }

    // Local shapes. Parameters are replicated and may not carry the batch.
    auto local = [&](Type t) {
      auto rt = cast<RankedTensorType>(t);
      SmallVector<int64_t> shape(rt.getShape());
      shape[0] /= split;
      return RankedTensorType::get(shape, rt.getElementType());
    };
    for (BlockArgument arg : fn.getArguments()) {
      if (!marked.contains(arg))
        continue;
      if (fn.getArgAttr(arg.getArgNumber(), WeftDialect::kParam)) {
        emitError(arg.getLoc()) << "parameter #" << arg.getArgNumber()
                                << " would have to be split by batch under " << over;
        return signalPassFailure();
      }
      fn.setArgAttr(arg.getArgNumber(), "weft.global_shape",
                    b.getDenseI64ArrayAttr(tt(arg).getShape()));
      arg.setType(local(arg.getType()));
    }
    for (Operation &op : block.without_terminator())
      for (Value r : op.getResults()) {
        if (!marked.contains(r))
          continue;
        if (tt(r).getDimSize(0) != batch) {
          op.emitError() << "a value derived from the batch has dimension 0 of size "
                         << tt(r).getDimSize(0) << ", not the batch " << batch;
          return signalPassFailure();
        }
        if (auto slice = dyn_cast<SliceOp>(op)) {
          // The full batch range becomes the full local range.
          SmallVector<int64_t> limit(slice.getLimit());
          limit[0] /= split;
          slice.setLimit(limit);
        }
        if (auto c = dyn_cast<ConstantOp>(op)) {
          auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
          if (!dense || !dense.isSplat()) {
            op.emitError() << "a constant with the batch dimension must be a splat under dp";
            return signalPassFailure();
          }
          c.setValueAttr(DenseElementsAttr::get(local(r.getType()), dense.getSplatValue<Attribute>()));
        }
        r.setType(local(r.getType()));
      }
    // Outputs that carry the batch are gathered along it by the runtime.
    Operation *ret = block.getTerminator();
    for (auto [i, v] : llvm::enumerate(ret->getOperands()))
      if (marked.contains(v)) {
        SmallVector<int64_t> global(tt(v).getShape());
        global[0] *= split;
        fn.setResultAttr(i, "weft.global_shape", b.getDenseI64ArrayAttr(global));
      }
    fn.setFunctionType(b.getFunctionType(block.getArgumentTypes(), ret->getOperandTypes()));

    if (dp > 1) {
      OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
      shard::GridOp::create(mb, module.getLoc(), "mesh", ArrayRef<int64_t>{dp});
      module->setAttr("weft.mesh", b.getDictionaryAttr(b.getNamedAttr("dp", b.getI64IntegerAttr(dp))));
    }
    if (failed(verify(fn))) {
      fn.emitError() << "internal error: the batch split produced invalid IR";
      return signalPassFailure();
    }
  }
};

} // namespace

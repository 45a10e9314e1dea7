//===- PlanMemoryPass.cpp - weft-plan-memory -----------------------------===//
//
// A static memory plan: every intermediate of @forward gets a byte offset in
// one arena, known before the run, and buffers whose lifetimes do not
// overlap share bytes. The placement is the greedy-by-size heuristic of
// TFLite's arena planner: place the largest buffers first, each at the
// lowest offset that does not collide with an already placed buffer alive
// at the same time. Written here because MLIR's bufferization works on
// memrefs and loops, not on a flat list of kernel calls.
//
// It also splits the arena's peak into gradients and activations, for the
// memory report (weft-dump): at the first op where the most arena bytes are
// live, the bytes of gradient buffers and of all the others. A gradient
// buffer holds a parameter's gradient on its way to the optimizer (see
// isGradient below); activations are the rest: forward values, the
// backward pass's activation gradients and temporaries.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftShapes.h"
#include "passes/Passes.h"
#include "passes/lowering/GemmEpilogue.h"

namespace mlir::weft {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct Buffer {
  Value value;        // the op result that owns the bytes
  int64_t size = 0;   // aligned
  int64_t first = 0;  // index of the defining op
  int64_t last = 0;   // index of the last use, through views
  int64_t offset = -1;
};

// The values that hold parameter gradients: the gradient operand of each
// optimizer update and, walking back from it, what it was made from without
// leaving the parameter's gradient: the gradient sync (all-reduce,
// ZeRO's reduce-scatter), views, and elementwise ops (summed partial
// gradients, clipping) through their operands of the result's type. The
// walk stops at the op that first computes a gradient (a matmul, a reduce):
// its operands are activations or activation gradients.
DenseSet<Value> gradientValues(Block &block) {
  DenseSet<Value> grads;
  SmallVector<Value> work;
  for (Operation &op : block) {
    if (auto u = dyn_cast<SgdUpdateOp>(op))
      work.push_back(u.getGrad());
    if (auto u = dyn_cast<AdamwUpdateOp>(op))
      work.push_back(u.getGrad());
  }
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!grads.insert(v).second)
      continue;
    Operation *def = v.getDefiningOp();
    if (!def)
      continue;
    if (isa<shard::AllReduceOp, shard::ReduceScatterOp, ReshapeOp, TpCopyOp>(def)) {
      work.push_back(def->getOperand(0));
    } else if (isa<FusedOp, AddOp, SubOp, MulOp>(def)) {
      for (Value operand : def->getOperands())
        if (operand.getType() == v.getType())
          work.push_back(operand);
    }
  }
  return grads;
}

struct PlanMemoryPass
    : mlir::weft::impl::PlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Block &block = fn.getBody().front();
    Builder b(&getContext());

    // Results of the function are written straight into the output tensors
    // the runtime returns, so they take no arena space (offset -1).
    llvm::SmallPtrSet<Value, 8> returned;
    for (Value v : block.getTerminator()->getOperands())
      returned.insert(v);
    // Values that own arena bytes, and the owner behind each view.
    DenseMap<Value, Value> ownerOf;
    DenseMap<Value, int64_t> bufferIndex;
    std::vector<Buffer> buffers;
    DenseMap<Operation *, int64_t> position;
    int64_t pos = 0;
    for (Operation &op : block) {
      position[&op] = pos++;
      if (isa<ConstantOp>(op) || op.hasTrait<OpTrait::IsTerminator>())
        continue;
      // Views (a reshape, a tp_copy) share their source's bytes and extend
      // its lifetime; the artifact writer aliases them the same way.
      if (isa<ReshapeOp, TpCopyOp>(op)) {
        Value src = op.getOperand(0);
        ownerOf[op.getResult(0)] = ownerOf.lookup(src) ? ownerOf.lookup(src) : src;
        continue;
      }
      // A matmul folded into its fused user (weft-fold-gemm-epilogue) never
      // stores its product: the GEMM writes the fused op's results.
      if (isa<MatmulOp>(op) && op.hasAttr(kGemmEpilogueAttr))
        continue;
      for (Value r : op.getResults()) {
        ownerOf[r] = r;
        if (returned.contains(r))
          continue;
        bufferIndex[r] = buffers.size();
        int64_t size = tensorBytes(r.getType());
        size = (size + alignment - 1) / alignment * alignment;
        // A folded bias gradient is written by the matmul two ops before.
        const int64_t first =
            isa<ReduceOp>(op) && op.hasAttr(kGemmEpilogueAttr) ? position[&op] - 2 : position[&op];
        buffers.push_back({r, size, first, position[&op], -1});
      }
    }
    // Lifetimes: the last use of a value or of any view of it. Results of
    // the function stay alive to the end.
    // A folded matmul runs at its fused op's place, so its operands live
    // until then (and the fused op's results never share their bytes).
    for (Operation &op : block) {
      const bool folded = isa<MatmulOp>(op) && op.hasAttr(kGemmEpilogueAttr);
      const int64_t at = op.hasTrait<OpTrait::IsTerminator>() ? pos
                         : folded                             ? position[op.getNextNode()]
                                                              : position[&op];
      for (Value operand : op.getOperands()) {
        Value owner = ownerOf.lookup(operand);
        auto it = owner ? bufferIndex.find(owner) : bufferIndex.end();
        if (it == bufferIndex.end())
          continue;
        Buffer &buf = buffers[it->second];
        buf.last = std::max(buf.last, at);
      }
    }

    // Greedy by size: largest first, lowest offset that fits.
    std::vector<Buffer *> order;
    for (Buffer &buf : buffers)
      order.push_back(&buf);
    std::stable_sort(order.begin(), order.end(),
                     [](Buffer *x, Buffer *y) { return x->size > y->size; });
    std::vector<Buffer *> placed;
    int64_t arena = 0;
    for (Buffer *buf : order) {
      std::vector<Buffer *> live;
      for (Buffer *other : placed)
        if (other->first <= buf->last && buf->first <= other->last)
          live.push_back(other);
      std::sort(live.begin(), live.end(),
                [](Buffer *x, Buffer *y) { return x->offset < y->offset; });
      int64_t offset = 0;
      for (Buffer *other : live) {
        if (offset + buf->size <= other->offset)
          break;
        offset = std::max(offset, other->offset + other->size);
      }
      buf->offset = offset;
      arena = std::max(arena, offset + buf->size);
      placed.push_back(buf);
    }

    for (Operation &op : block) {
      if (op.getNumResults() == 0 || !ownerOf.count(op.getResult(0)) ||  // folded: no offsets
          ownerOf.lookup(op.getResult(0)) != op.getResult(0))
        continue;
      SmallVector<int64_t> offsets;
      for (Value r : op.getResults())
        offsets.push_back(bufferIndex.count(r) ? buffers[bufferIndex[r]].offset : -1);
      op.setAttr("weft.offsets", b.getDenseI64ArrayAttr(offsets));
    }
    fn->setAttr("weft.arena_bytes", b.getI64IntegerAttr(arena));

    // The arena's peak, split: live bytes per op, per class.
    DenseSet<Value> grads = gradientValues(block);
    std::vector<int64_t> live(pos + 1, 0), liveGrad(pos + 1, 0);
    for (const Buffer &buf : buffers)
      for (int64_t p = buf.first; p <= buf.last; ++p) {
        live[p] += buf.size;
        if (grads.contains(buf.value))
          liveGrad[p] += buf.size;
      }
    const int64_t peak = std::max_element(live.begin(), live.end()) - live.begin();
    fn->setAttr("weft.gradient_bytes", b.getI64IntegerAttr(liveGrad[peak]));
    fn->setAttr("weft.activation_bytes", b.getI64IntegerAttr(live[peak] - liveGrad[peak]));
  }
};

} // namespace

//===- FuseElementwisePass.cpp - weft-fuse-elementwise -------------------===//
//
// Greedy producer-consumer fusion in program order. An op joins the groups
// of its fusible producers when they share its iteration shape and compute
// class (float or integer), and when moving the group down to the op keeps
// every outside use dominated (no outside user sits between a member and
// the op). A broadcast_in_dim always starts from an outside value: inside a
// region it becomes a strided load. Written here rather than with upstream's
// linalg elementwise fusion because weft ops are not linalg ops, and the
// region form is exactly what the runtime's fused kernel executes.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::weft {
#define GEN_PASS_DEF_FUSEELEMENTWISEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

bool isElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp,
             LogOp, SqrtOp, RsqrtOp, TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp,
             ReluGradOp, SiluGradOp, SigmoidGradOp, TanhGradOp, GeluGradOp,
             MaxGradOp, MinGradOp, ScaleOp>(op);
}

bool isFusible(Operation *op) {
  return isElementwise(op) || isa<BroadcastInDimOp>(op);
}

RankedTensorType resultType(Operation *op) {
  return cast<RankedTensorType>(op->getResult(0).getType());
}

bool isIntegerClass(Operation *op) {
  return isa<IntegerType>(resultType(op).getElementType());
}

struct Group {
  SmallVector<Operation *> members; // in program order
};

struct FuseElementwisePass
    : mlir::weft::impl::FuseElementwisePassBase<FuseElementwisePass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Block &block = fn.getBody().front();

    // A broadcast read by several ops is cloned for each, so every region
    // that reads it does so with a strided load. Otherwise the region that
    // takes the broadcast in would write the whole broadcast tensor out for
    // the others (pipeline microbatches, sharing one bias broadcast after
    // CSE, did that), and a matmul's epilogue could not take its bias.
    SmallVector<BroadcastInDimOp> shared;
    for (auto bc : block.getOps<BroadcastInDimOp>())
      if (!bc->hasOneUse() && !bc->use_empty())
        shared.push_back(bc);
    for (BroadcastInDimOp bc : shared) {
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : bc->getUses())
        uses.push_back(&use);
      for (OpOperand *use : llvm::drop_begin(uses)) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*bc)->getResult(0));
      }
    }

    DenseMap<Operation *, int> groupOf;
    groups.clear();
    for (Operation &op : block) {
      if (!isFusible(&op))
        continue;
      // Groups of the producers this op may join.
      // An accumulation (weft.accumulate: a pipeline's running sum of
      // gradients over microbatches) starts a group of its own: joining its
      // producers would move it, and the sum before it, down to the last
      // microbatch, keeping every microbatch's gradient alive until then.
      SmallVector<int> candidates;
      if (!isa<BroadcastInDimOp>(op) && !op.hasAttr("weft.accumulate"))
        for (Value operand : op.getOperands()) {
          Operation *def = operand.getDefiningOp();
          auto it = def ? groupOf.find(def) : groupOf.end();
          if (it == groupOf.end() || llvm::is_contained(candidates, it->second))
            continue;
          Operation *first = groups[it->second].members.front();
          if (resultType(first).getShape() == resultType(&op).getShape() &&
              isIntegerClass(first) == isIntegerClass(&op))
            candidates.push_back(it->second);
        }
      // Merge the legal candidates and the op into one group.
      int target = -1;
      for (int g : candidates) {
        if (!canMoveTo(groups[g], &op, groupOf, target))
          continue;
        if (target < 0) {
          target = g;
          continue;
        }
        for (Operation *m : groups[g].members) {
          groups[target].members.push_back(m);
          groupOf[m] = target;
        }
        groups[g].members.clear();
      }
      if (target < 0) {
        target = groups.size();
        groups.emplace_back();
      }
      groups[target].members.push_back(&op);
      groupOf[&op] = target;
    }

    for (Group &g : groups) {
      if (g.members.empty())
        continue;
      llvm::sort(g.members,
                 [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
      outline(g);
    }
  }

  // Whether group `g` (plus the group `other`, if >= 0, already merged with
  // the op) can move down to `op`: no member's outside user precedes `op`.
  bool canMoveTo(const Group &g, Operation *op,
                 const DenseMap<Operation *, int> &groupOf, int other) {
    auto inside = [&](Operation *user) {
      auto it = groupOf.find(user);
      return user == op ||
             (it != groupOf.end() &&
              (&groups[it->second] == &g || it->second == other));
    };
    for (Operation *m : g.members)
      for (Operation *user : m->getUsers())
        if (!inside(user) && user->isBeforeInBlock(op))
          return false;
    return true;
  }

  // Replaces the members of `g` with one weft.fused at the last member.
  void outline(Group &g) {
    llvm::SmallPtrSet<Operation *, 16> memberSet(g.members.begin(),
                                                 g.members.end());
    llvm::SetVector<Value> inputs;
    SmallVector<Value> outputs;
    for (Operation *m : g.members) {
      for (Value operand : m->getOperands())
        if (!memberSet.contains(operand.getDefiningOp()))
          inputs.insert(operand);
      for (OpOperand &use : m->getResult(0).getUses())
        if (!memberSet.contains(use.getOwner())) {
          outputs.push_back(m->getResult(0));
          break;
        }
    }
    if (outputs.empty()) {
      // Nothing outside reads the group: it is dead code.
      for (Operation *m : llvm::reverse(g.members))
        m->erase();
      return;
    }
    Operation *last = g.members.back();
    OpBuilder b(last);
    auto fused = FusedOp::create(b, last->getLoc(),
                                 ValueRange(outputs).getTypes(),
                                 inputs.getArrayRef());
    Block *body = new Block();
    fused.getBody().push_back(body);
    IRMapping map;
    for (Value in : inputs)
      map.map(in, body->addArgument(in.getType(), in.getLoc()));
    OpBuilder inner = OpBuilder::atBlockEnd(body);
    for (Operation *m : g.members)
      inner.clone(*m, map);
    SmallVector<Value> yielded;
    for (Value out : outputs)
      yielded.push_back(map.lookup(out));
    YieldOp::create(inner, last->getLoc(), yielded);
    for (auto [out, res] : llvm::zip(outputs, fused.getResults()))
      out.replaceUsesWithIf(res, [&](OpOperand &use) {
        return !memberSet.contains(use.getOwner());
      });
    for (Operation *m : llvm::reverse(g.members))
      m->erase();
  }

  std::vector<Group> groups;
};

} // namespace

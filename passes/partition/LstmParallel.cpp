//===- LstmParallel.cpp - the LSTM split of weft-partition-tensor ---------===//
//
// The classic hidden-unit split of an LSTM: each tp device owns H/tp hidden
// units of every gate. Per cell (a layer at a time step),
//   gates = x @ W_ih + h @ W_hh + b     [B, 4H], sliced into i, f, g, o;
// W_ih, W_hh [K, 4H] and b [4H] are split along the gate dimension per gate
// (`weft.split_groups = 4`: device t holds columns g*H + t*H/tp .. of every
// gate g), so the local gates are [B, 4H/tp], the gate slices [B, H/tp], and
// c and h stay local through the elementwise update. h is gathered
// (`weft.tp_gather` along dim 1) for what reads it: the next step's
// recurrent matmul, the next layer's input matmul, the head. All of those
// are matmuls by column-split weights, so the cotangent of the gathered h is
// a partial sum on each device, which the gather's gradient reduce-scatters.
// The first layer's input (replicated) enters through one `weft.tp_copy`.
// Traffic per layer and step: one all-gather of B*H forward and one
// reduce-scatter of B*H backward.
//
//===----------------------------------------------------------------------===//
#include "passes/partition/TensorSplit.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr int64_t kGates = 4;

// One cell: the sum that makes the gates [B, 4H] and its four slices.
struct Cell {
  SmallVector<MatmulOp> matmuls;   // x @ W_ih, h @ W_hh (by parameters [K, 4H])
  SmallVector<Operation *> sum;    // the adds and the bias broadcasts
  SliceOp slices[kGates];
  int64_t hidden;
};

bool plainMatmulByParam(func::FuncOp fn, MatmulOp m) {
  return m && !m.getTransposeA() && !m.getTransposeB() && m.getRhs().getType().getRank() == 2 &&
         tensorTypeOf(m.getLhs()).getRank() == 2 && paramOf(fn, m.getRhs());
}

// The leaves of the add tree that makes `v`: matmuls by parameters and
// broadcast 1-D parameters (the bias); every inner value used once.
bool collectSum(func::FuncOp fn, Value v, bool root, Cell &cell) {
  if (!root && !v.hasOneUse())
    return false;
  if (auto add = v.getDefiningOp<AddOp>()) {
    cell.sum.push_back(add);
    return collectSum(fn, add.getLhs(), false, cell) && collectSum(fn, add.getRhs(), false, cell);
  }
  if (auto m = v.getDefiningOp<MatmulOp>(); plainMatmulByParam(fn, m)) {
    cell.matmuls.push_back(m);
    return true;
  }
  if (auto bc = v.getDefiningOp<BroadcastInDimOp>())
    if (bc.getOperand().getType().getRank() == 1 && bc.getDims()[0] == 1 &&
        paramOf(fn, bc.getOperand())) {
      cell.sum.push_back(bc);
      return true;
    }
  return false;
}

// `gates` [B, 4H] used by exactly the four gate slices [0:H] .. [3H:4H].
std::optional<Cell> cellOf(func::FuncOp fn, Value gates) {
  auto type = tensorTypeOf(gates);
  if (type.getRank() != 2 || type.getDimSize(1) % kGates != 0)
    return std::nullopt;
  const int64_t rows = type.getDimSize(0), hidden = type.getDimSize(1) / kGates;
  Cell cell;
  cell.hidden = hidden;
  int n = 0;
  for (Operation *user : gates.getUsers()) {
    auto s = dyn_cast<SliceOp>(user);
    if (!s || n == kGates || s.getStart()[0] != 0 || s.getLimit()[0] != rows ||
        s.getStart()[1] % hidden != 0 || s.getLimit()[1] != s.getStart()[1] + hidden)
      return std::nullopt;
    SliceOp &slot = cell.slices[s.getStart()[1] / hidden];
    if (slot)
      return std::nullopt;
    slot = s;
    ++n;
  }
  if (n != kGates || !collectSum(fn, gates, true, cell) || cell.matmuls.empty())
    return std::nullopt;
  return cell;
}

// The cell update: elementwise ops of one or two operands.
bool isCellUpdate(Operation *op) {
  return isa<AddOp, SubOp, MulOp, SigmoidOp, TanhOp, ReluOp, NegOp, ExpOp>(op);
}

bool isView(Operation *op) { return isa<ReshapeOp, SliceOp, ConcatOp>(op); }

// Everything `v` reaches through views ends as the left operand of a matmul
// by a parameter (an LSTM weight or the LM head).
bool feedsParamMatmuls(func::FuncOp fn, Value v) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (isView(user)) {
      if (!feedsParamMatmuls(fn, user->getResult(0)))
        return false;
      continue;
    }
    auto m = dyn_cast<MatmulOp>(user);
    if (!m || use.getOperandNumber() != 0 || m.getTransposeA() || !paramOf(fn, m.getRhs()))
      return false;
  }
  return true;
}

// Everything `v` reaches through slices and reshapes is a left operand in
// `inputs` (the first layer's input, sliced per step).
bool feedsOnly(Value v, const DenseSet<Operation *> &inputs) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (isa<ReshapeOp, SliceOp>(user)) {
      if (!feedsOnly(user->getResult(0), inputs))
        return false;
      continue;
    }
    if (!inputs.contains(user) || use.getOperandNumber() != 0)
      return false;
  }
  return true;
}

Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<ReshapeOp, SliceOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

bool isSplat(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto dense = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : DenseElementsAttr();
  return dense && dense.isSplat();
}

} // namespace

LogicalResult mlir::weft::splitLstm(const TensorSplit &split, bool &found) {
  func::FuncOp fn = split.fn;
  found = false;
  // Match everything first; any surprise leaves every LSTM replicated.
  SmallVector<Cell> cells;
  DenseSet<Value> seen;
  fn.walk([&](SliceOp s) {
    if (seen.insert(s.getOperand()).second)
      if (auto cell = cellOf(fn, s.getOperand()))
        cells.push_back(*cell);
  });
  if (cells.empty())
    return success();
  // The parameters, each used by the cells' sums only.
  DenseSet<Operation *> cellOps, cellMatmuls;
  llvm::SetVector<BlockArgument> weights, biases;
  for (Cell &c : cells) {
    for (MatmulOp m : c.matmuls) {
      cellOps.insert(m);
      cellMatmuls.insert(m);
      weights.insert(cast<BlockArgument>(m.getRhs()));
    }
    for (Operation *op : c.sum) {
      cellOps.insert(op);
      if (auto bc = dyn_cast<BroadcastInDimOp>(op))
        biases.insert(cast<BlockArgument>(bc.getOperand()));
    }
  }
  for (auto *set : {&weights, &biases})
    for (BlockArgument p : *set) {
      if (fn.getArgAttr(p.getArgNumber(), "weft.split_dim"))
        return success(); // another pattern split it already
      for (Operation *user : p.getUsers())
        if (!cellOps.contains(user))
          return success();
    }
  // The local region: what the gate slices reach through the cell update.
  // Other operands must be local too, or a splat constant (c0 = 0).
  llvm::SetVector<Value> local; // in program order, so the gathers are made in order
  SmallVector<Operation *> region;
  SmallVector<OpOperand *> splats;
  for (Cell &c : cells)
    for (SliceOp s : c.slices)
      local.insert(s.getResult());
  bool ok = true;
  fn.walk([&](Operation *op) {
    if (!ok || !isCellUpdate(op) || llvm::none_of(op->getOperands(), [&](Value v) { return local.contains(v); }))
      return;
    if (tensorTypeOf(op->getResult(0)).getRank() != 2) {
      ok = false;
      return;
    }
    for (OpOperand &operand : op->getOpOperands())
      if (!local.contains(operand.get())) {
        if (!isSplat(operand.get()))
          ok = false;
        splats.push_back(&operand);
      }
    local.insert(op->getResult(0));
    region.push_back(op);
  });
  if (!ok)
    return success();
  DenseSet<Operation *> regionOps(region.begin(), region.end());
  // What leaves the region is gathered; it must feed matmuls by parameters
  // only (checkGatheredUses confirms they were split, after the vocabulary).
  SmallVector<Value> leaving;
  for (Value v : local) {
    bool out = false;
    for (Operation *user : v.getUsers())
      if (!regionOps.contains(user))
        out = true;
    if (!out)
      continue;
    // The region's values as a gathered copy would have them.
    for (OpOperand &use : v.getUses())
      if (!regionOps.contains(use.getOwner())) {
        Operation *user = use.getOwner();
        bool good = isView(user) ? feedsParamMatmuls(fn, user->getResult(0))
                                 : isa<MatmulOp>(user) && use.getOperandNumber() == 0 &&
                                       !cast<MatmulOp>(user).getTransposeA() &&
                                       paramOf(fn, cast<MatmulOp>(user).getRhs());
        if (!good)
          return success();
      }
    leaving.push_back(v);
  }
  // The cells' inputs that do not come from the region: the first layer's
  // x (replicated; its gradient is a partial sum over tp) and h0.
  llvm::MapVector<Value, SmallVector<MatmulOp>> inputsByRoot;
  for (Cell &c : cells)
    for (MatmulOp m : c.matmuls)
      if (!local.contains(m.getLhs()) && !isSplat(m.getLhs()))
        inputsByRoot[rootOf(m.getLhs())].push_back(m);

  // A match: now H must divide.
  for (Cell &c : cells)
    if (c.hidden % split.tp != 0) {
      auto w = cast<BlockArgument>(c.matmuls.front().getRhs());
      auto name = fn.getArgAttrOfType<StringAttr>(w.getArgNumber(), WeftDialect::kParam);
      return c.matmuls.front().emitError()
             << "the LSTM weight '" << name.getValue() << "' " << w.getType()
             << " holds 4 gates of " << c.hidden << " hidden units along dimension 1; "
             << c.hidden << " is not divisible by tp=" << split.tp
             << " (each device takes H/tp units of every gate)";
    }

  for (BlockArgument w : weights)
    split.splitParam(w, 1, kGates);
  for (BlockArgument b : biases)
    split.splitParam(b, 0, kGates);
  for (Cell &c : cells) {
    for (MatmulOp m : c.matmuls)
      split.shrink(m.getResult(), 1);
    for (Operation *op : c.sum)
      split.shrink(op->getResult(0), 1);
    const int64_t part = c.hidden / split.tp;
    for (auto [g, s] : llvm::enumerate(c.slices)) {
      SmallVector<int64_t> start(s.getStart()), limit(s.getLimit());
      start[1] = g * part;
      limit[1] = (g + 1) * part;
      s.setStart(start);
      s.setLimit(limit);
      split.shrink(s.getResult(), 1);
    }
  }
  for (Operation *op : region)
    split.shrink(op->getResult(0), 1);
  // c0 (a splat) becomes a local splat; the original may have other users.
  for (OpOperand *operand : splats) {
    auto c = operand->get().getDefiningOp<ConstantOp>();
    auto type = split.localType(tensorTypeOf(c.getResult()), 1);
    OpBuilder b(c->getBlock(), std::next(c->getIterator()));
    auto value = DenseElementsAttr::get(type, cast<DenseElementsAttr>(c.getValue()).getSplatValue<Attribute>());
    auto shrunk = ConstantOp::create(b, c.getLoc(), value);
    shrunk->setAttrs(c->getDiscardableAttrDictionary());
    operand->set(shrunk);
    if (c->use_empty())
      c->erase();
  }
  for (Value v : leaving) {
    OpBuilder b(v.getContext());
    b.setInsertionPointAfterValue(v);
    auto full = tensorTypeOf(v).clone(
        {tensorTypeOf(v).getDimSize(0), tensorTypeOf(v).getDimSize(1) * split.tp});
    Value gathered = TpGatherOp::create(b, v.getLoc(), full, v, 1, split.axis);
    v.replaceUsesWithIf(gathered, [&](OpOperand &use) {
      return use.getOwner() != gathered.getDefiningOp() && !regionOps.contains(use.getOwner());
    });
  }
  // One tp_copy per input root when everything it feeds is a cell input
  // (one all-reduce of the whole sequence backward), else one per matmul.
  for (auto &[root, matmuls] : inputsByRoot) {
    DenseSet<Operation *> mine;
    for (MatmulOp m : matmuls)
      mine.insert(m);
    if (feedsOnly(root, mine)) {
      OpBuilder b(root.getContext());
      b.setInsertionPointAfterValue(root);
      Value copy = TpCopyOp::create(b, root.getLoc(), root, split.axis);
      root.replaceAllUsesExcept(copy, copy.getDefiningOp());
      continue;
    }
    for (MatmulOp m : matmuls) {
      OpBuilder b(m);
      m.setOperand(0, TpCopyOp::create(b, m.getLoc(), m.getLhs(), split.axis));
    }
  }
  found = true;
  return success();
}

LogicalResult mlir::weft::checkGatheredUses(const TensorSplit &split) {
  func::FuncOp fn = split.fn;
  std::function<LogicalResult(Value, TpGatherOp)> check = [&](Value v,
                                                              TpGatherOp from) -> LogicalResult {
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isView(user)) {
        if (failed(check(user->getResult(0), from)))
          return failure();
        continue;
      }
      auto m = dyn_cast<MatmulOp>(user);
      BlockArgument w = m ? paramOf(fn, m.getRhs()) : BlockArgument();
      auto dim = w ? fn.getArgAttrOfType<IntegerAttr>(w.getArgNumber(), "weft.split_dim") : IntegerAttr();
      if (use.getOperandNumber() == 0 && dim && dim.getInt() == (m.getTransposeB() ? 0 : 1))
        continue;
      return user->emitError()
             << "the hidden state gathered at " << from.getLoc()
             << " feeds this op, which tensor parallelism leaves whole: the gather's gradient "
                "(a reduce-scatter) would count its gradient tp times. Tensor-parallel LSTMs "
                "need their hidden state to feed only column-split matmuls (the LSTM weights, "
                "a vocabulary-parallel head)";
    }
    return success();
  };
  WalkResult r = fn.walk([&](TpGatherOp g) {
    return failed(check(g.getResult(), g)) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

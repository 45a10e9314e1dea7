//===- GemmEpilogue.cpp - which fused programs a GEMM can finish ---------===//
#include "passes/lowering/GemmEpilogue.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::weft;
using ::weft::artifact::GemmEpilogue;

namespace {

bool isF32(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && r.getElementType().isF32();
}

// `op`'s two operands are {a, b} in either order.
bool operandsAre(Operation *op, Value a, Value b) {
  Value x = op->getOperand(0), y = op->getOperand(1);
  return (x == a && y == b) || (x == b && y == a);
}

// A weft.reduce "sum" of `g` [..., n] over every dimension but the last:
// the bias gradient that cuBLASLt's DGELU_BGRAD computes with the GEMM.
ReduceOp biasGradOf(Value g) {
  auto type = cast<RankedTensorType>(g.getType());
  const int64_t rank = type.getRank();
  for (Operation *user : g.getUsers()) {
    auto r = dyn_cast<ReduceOp>(user);
    if (!r || r.getKind() != "sum" || r.getKeepDims() || r->getBlock() != g.getParentBlock())
      continue;
    llvm::SmallDenseSet<int64_t> dims;
    for (int64_t d : r.getDims())
      dims.insert(d < 0 ? d + rank : d);
    bool leading = static_cast<int64_t>(dims.size()) == rank - 1 && !dims.contains(rank - 1);
    auto result = cast<RankedTensorType>(r.getType());
    if (leading && result.getRank() == 1 && result.getShape()[0] == type.getShape().back() &&
        result.getElementType().isF32())
      return r;
  }
  return {};
}

} // namespace

std::optional<GemmEpilogueMatch> mlir::weft::matchGemmEpilogue(MatmulOp matmul, FusedOp fused) {
  Value product = matmul.getResult();
  auto type = dyn_cast<RankedTensorType>(product.getType());
  if (!type || !type.getElementType().isF32() || !product.hasOneUse() ||
      *product.getUsers().begin() != fused.getOperation())
    return std::nullopt;
  const int64_t n = type.getShape().back();
  for (Value r : fused.getResults())
    if (r.getType() != type)
      return std::nullopt;

  // The block argument of the product, and the other inputs.
  Block &body = fused.getBody().front();
  BlockArgument p;
  SmallVector<BlockArgument> others;
  for (auto [arg, input] : llvm::zip(body.getArguments(), fused.getInputs())) {
    if (!isF32(input.getType()))
      return std::nullopt;
    (input == product ? p : others.emplace_back()) = arg;
  }
  if (!p)
    return std::nullopt;
  auto input = [&](BlockArgument a) { return fused.getInputs()[a.getArgNumber()]; };
  auto full = [&](BlockArgument a) { return a.getType() == type; };
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  auto yielded = body.getTerminator()->getOperands();

  // The gradient: one gelu_grad(x = pre, dy = product).
  if (ops.size() == 1 && others.size() == 1 && full(others[0])) {
    auto grad = dyn_cast<GeluGradOp>(ops[0]);
    if (grad && grad.getApproximate() == "tanh" && grad.getLhs() == others[0] &&
        grad.getRhs() == p && yielded.size() == 1 && yielded[0] == grad.getResult()) {
      GemmEpilogueMatch match{GemmEpilogue::kDGeluTanh, {input(others[0])}, {fused.getResult(0)}};
      if (ReduceOp r = biasGradOf(fused.getResult(0))) {
        match.kind = GemmEpilogue::kDGeluTanhBGrad;
        match.results.push_back(r.getResult());
        match.biasGrad = r;
      }
      return match;
    }
    return std::nullopt;
  }

  // The rest start with product + broadcast bias.
  if (ops.size() < 2 || others.empty())
    return std::nullopt;
  auto bc = dyn_cast<BroadcastInDimOp>(ops[0]);
  auto add = dyn_cast<AddOp>(ops[1]);
  if (!bc || !add)
    return std::nullopt;
  auto biasArg = dyn_cast<BlockArgument>(bc.getOperand());
  auto biasType = cast<RankedTensorType>(bc.getOperand().getType());
  if (!biasArg || biasType.getRank() != 1 || biasType.getShape()[0] != n ||
      bc.getDims().size() != 1 || bc.getDims()[0] != type.getRank() - 1 ||
      !operandsAre(add, p, bc.getResult()))
    return std::nullopt;
  Value bias = input(biasArg);
  auto resultOf = [&](Value v) { // the fused result that yields v
    for (auto [i, y] : llvm::enumerate(yielded))
      if (y == v)
        return fused.getResult(i);
    return Value();
  };

  if (ops.size() == 2 && others.size() == 1 && yielded.size() == 1 && yielded[0] == add)
    return GemmEpilogueMatch{GemmEpilogue::kBias, {bias}, {fused.getResult(0)}};
  if (ops.size() != 3)
    return std::nullopt;
  if (auto res = dyn_cast<AddOp>(ops[2])) {
    if (others.size() != 2 || yielded.size() != 1 || yielded[0] != res.getResult())
      return std::nullopt;
    BlockArgument residual = others[0] == biasArg ? others[1] : others[0];
    if (!full(residual) || !operandsAre(res, add.getResult(), residual))
      return std::nullopt;
    return GemmEpilogueMatch{GemmEpilogue::kBiasResidual, {bias, input(residual)},
                             {fused.getResult(0)}};
  }
  if (auto gelu = dyn_cast<GeluOp>(ops[2])) {
    if (others.size() != 1 || gelu.getApproximate() != "tanh" ||
        gelu.getOperand() != add.getResult())
      return std::nullopt;
    Value out = resultOf(gelu.getResult()), pre = resultOf(add.getResult());
    if (!out || yielded.size() != (pre ? 2u : 1u))
      return std::nullopt;
    GemmEpilogueMatch match{GemmEpilogue::kBiasGeluTanh, {bias}, {out}};
    if (pre)
      match.results.push_back(pre);
    return match;
  }
  return std::nullopt;
}

//===- ReshardPass.cpp - weft-reshard ------------------------------------===//
//
// Lowers each weft.reshard to the collectives of its cheapest plan
// (Reshard.h). The op carries local types, so the global shape comes from
// the operand's block and the source sharding.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/partition/Reshard.h"

namespace mlir::weft {
#define GEN_PASS_DEF_RESHARDPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

LogicalResult lower(ReshardOp op, shard::GridOp grid) {
  auto fail = [&](llvm::Error e) {
    return op.emitError() << llvm::toString(std::move(e));
  };
  ArrayRef<int64_t> gridShape = grid.getShape();
  if (llvm::any_of(gridShape, [](int64_t n) { return n <= 0; }))
    return op.emitError() << "weft.reshard needs a grid of static shape";
  RankedTensorType in = op.getOperand().getType(), out = op.getResult().getType();
  const int64_t gridRank = gridShape.size(), rank = in.getRank();
  auto from = reshard::Sharding::parse(op.getFrom(), gridRank, rank);
  if (!from)
    return fail(from.takeError());
  auto to = reshard::Sharding::parse(op.getTo(), gridRank, rank);
  if (!to)
    return fail(to.takeError());
  std::vector<int64_t> global(in.getShape().begin(), in.getShape().end());
  for (auto [d, axes] : llvm::enumerate(from->split))
    for (int64_t a : axes)
      global[d] *= gridShape[a];
  auto local = reshard::localShape(global, gridShape, *to);
  if (!local)
    return fail(local.takeError());
  if (ArrayRef<int64_t>(*local) != out.getShape())
    return op.emitError() << "result " << out << " is not the block of the global "
                          << RankedTensorType::get(global, in.getElementType()) << " under '"
                          << op.getTo() << "'; expected "
                          << RankedTensorType::get(*local, in.getElementType());
  const int64_t elementBytes = std::max<int64_t>(1, in.getElementTypeBitWidth() / 8);
  auto plan = reshard::planReshard(global, elementBytes, gridShape, *from, *to);
  if (!plan)
    return fail(plan.takeError());
  OpBuilder b(op);
  Value result = reshard::emitReshard(b, op.getLoc(), op.getOperand(), grid.getSymName(),
                                      *plan, global, gridShape);
  op.replaceAllUsesWith(result);
  op.erase();
  return success();
}

struct ReshardPass : mlir::weft::impl::ReshardPassBase<ReshardPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::SmallVector<ReshardOp> ops;
    module.walk([&](ReshardOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    auto grid = module.lookupSymbol<shard::GridOp>("mesh");
    if (!grid) {
      ops.front().emitError() << "weft.reshard needs a shard.grid @mesh in the module";
      return signalPassFailure();
    }
    for (ReshardOp op : ops)
      if (failed(lower(op, grid)))
        return signalPassFailure();
  }
};

} // namespace

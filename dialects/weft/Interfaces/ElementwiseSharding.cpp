//===- ElementwiseSharding.cpp - elementwise and elementwise-gradient ops -===//
//
// One parallel loop per dimension, every operand and result indexed by all of
// them: any split works and needs no collective. This covers the forward
// elementwise ops, cast, scale, the gradients of the activations (relu_grad,
// max_grad, ...) and tp_copy, which is the identity forward (its all-reduce
// belongs to the gradient that weft-autodiff builds, not to this op).
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;
using namespace mlir::weft::sharding;

namespace {

template <typename OpT>
struct ElementwiseModel : LoopShardingModel<ElementwiseModel<OpT>, OpT> {
  static LoopNest describe(OpT op) {
    LoopNest nest;
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<int64_t> dims = nest.identity(type.getRank());
    nest.tensors.assign(op->getNumOperands() + op->getNumResults(), dims);
    return nest;
  }
};

template <typename... Ops> void attach(MLIRContext *ctx) {
  (Ops::template attachInterface<ElementwiseModel<Ops>>(*ctx), ...);
}

} // namespace

void sharding::attachElementwiseShardingModels(MLIRContext *ctx) {
  attach<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp, LogOp, SqrtOp, RsqrtOp,
         TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp, CastOp, ScaleOp, TpCopyOp>(ctx);
  attach<ReluGradOp, SiluGradOp, SigmoidGradOp, TanhGradOp, GeluGradOp, MaxGradOp, MinGradOp>(ctx);
}

//===- OptimizerPass.cpp - weft-optimizer --------------------------------===//
//
// From gradients to updates. The optimizer state is program state: extra
// arguments of @train_step marked `weft.state`, zero-initialised, sized and
// placed like the parameters they belong to, saved and restored with them.
// The step counter is state too, so bias correction and data order survive
// a checkpoint.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace mlir::weft {
#define GEN_PASS_DEF_OPTIMIZERPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

struct OptimizerPass : mlir::weft::impl::OptimizerPassBase<OptimizerPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto step = module.lookupSymbol<func::FuncOp>("train_step");
    if (!step) {
      module.emitError() << "weft-optimizer needs @train_step; run weft-autodiff first";
      return signalPassFailure();
    }
    if (kind != "sgd" && kind != "adamw") {
      module.emitError() << "unknown optimizer '" << kind << "'; expected sgd or adamw";
      return signalPassFailure();
    }
    if (!(lr > 0)) {
      module.emitError() << "the learning rate must be positive, got " << lr;
      return signalPassFailure();
    }
    float wd = weightDecay >= 0 ? weightDecay : (kind == "adamw" ? 0.01f : 0.0f);
    Block &block = step.getBody().front();
    Operation *ret = block.getTerminator();
    OpBuilder b(ret);
    Location loc = step.getLoc();
    MLIRContext *ctx = &getContext();

    auto zerosInit = b.getDictionaryAttr(b.getNamedAttr("dist", b.getStringAttr("zeros")));
    // `globalShape`: state of which each device holds a slice: the
    // tensor-parallel slice of its parameter (`splitDim`), a flat 1/dp one
    // (ZeRO-1, `zeroSlice`), or the flat 1/dp slice of the tp slice (both).
    auto addState = [&](StringRef name, Type type, ArrayRef<int64_t> globalShape = {},
                        IntegerAttr splitDim = {}, IntegerAttr splitGroups = {},
                        bool zeroSlice = false) {
      unsigned index = step.getNumArguments();
      SmallVector<NamedAttribute> attrs{b.getNamedAttr("weft.state", b.getStringAttr(name)),
                                        b.getNamedAttr("weft.init", zerosInit)};
      if (!globalShape.empty())
        attrs.push_back(b.getNamedAttr("weft.global_shape", b.getDenseI64ArrayAttr(globalShape)));
      if (splitDim)
        attrs.push_back(b.getNamedAttr("weft.split_dim", splitDim));
      if (splitGroups)  // an LSTM's per-gate split
        attrs.push_back(b.getNamedAttr("weft.split_groups", splitGroups));
      if (zeroSlice)
        attrs.push_back(b.getNamedAttr("weft.zero_slice", b.getUnitAttr()));
      (void)step.insertArgument(index, type, b.getDictionaryAttr(attrs), loc);
      return step.getArgument(index);
    };
    // The mesh's axes: dp first when present, tp the inner one.
    int64_t dp = 1;
    std::optional<shard::GridAxis> dpAxis, tpAxis, ppAxis;
    if (auto mesh = module->getAttrOfType<DictionaryAttr>("weft.mesh")) {
      if (auto d = mesh.getAs<IntegerAttr>("dp")) {
        dp = d.getInt();
        dpAxis = 0;
      }
      if (mesh.get("tp"))
        tpAxis = dpAxis ? 1 : 0;
      if (mesh.get("pp")) // weft-pipeline appends it after dp and tp
        ppAxis = (dpAxis ? 1 : 0) + (tpAxis ? 1 : 0);
    } else if (auto grid = module.lookupSymbol<shard::GridOp>("mesh")) {
      dp = grid.getShape()[0]; // weft-partition-batch's 1-D grid
      dpAxis = 0;
    }
    // ZeRO-1 needs the data-parallel grid.
    if (zero > 0 && !dpAxis) {
      module.emitError() << "--zero=1 needs a data-parallel mesh (weft-partition-batch)";
      return signalPassFailure();
    }
    auto scalar = [&](float x) {
      return Value(ConstantOp::create(
          b, loc, DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), x)));
    };

    // Split the results: outputs stay, gradients are consumed.
    SmallVector<Value> outputs;
    SmallVector<DictionaryAttr> outputAttrs;
    SmallVector<std::pair<BlockArgument, Value>> grads;
    DenseSet<Value> countedElsewhere; // tied gradients another pp rank counts in the norm
    for (unsigned i = 0; i < step.getNumResults(); ++i) {
      auto name = step.getResultAttrOfType<StringAttr>(i, "weft.grad");
      if (!name) {
        outputs.push_back(ret->getOperand(i));
        outputAttrs.push_back(step.getResultAttrDict(i));
        continue;
      }
      for (BlockArgument arg : step.getArguments())
        if (step.getArgAttr(arg.getArgNumber(), WeftDialect::kParam) == name)
          grads.push_back({arg, ret->getOperand(i)});
      if (step.getResultAttr(i, "weft.norm_counted_elsewhere"))
        countedElsewhere.insert(ret->getOperand(i));
    }
    if (grads.empty()) {
      step.emitError() << "@train_step returns no gradients";
      return signalPassFailure();
    }

    // t = step + 1: this update's number.
    Value counter = addState("optimizer.step", RankedTensorType::get({}, b.getF32Type()));
    Value t = AddOp::create(b, loc, counter, scalar(1.0f));
    SmallVector<std::pair<StringRef, Value>> updates{{"optimizer.step", t}};

    // Per parameter, what this device updates: its gradient (averaged over
    // dp, or under ZeRO-1 reduce-scattered to its slice) and the parameter
    // (or that slice).
    struct Piece {
      BlockArgument param;
      Value g, p;
      bool sharded;        // ZeRO-1: g and p are this device's 1/dp flat slice
      IntegerAttr splitDim; // tensor parallel: the parameter is a tp slice
      bool inNorm = true;   // false: another pp rank counts it (a tied weight)
    };
    SmallVector<Piece> pieces;
    for (auto &[param, grad] : grads) {
      Location loc = param.getLoc();
      auto ptype = cast<RankedTensorType>(param.getType());
      // With tp, ZeRO divides this device's tp slice (the local shape) over dp.
      auto splitDim = step.getArgAttrOfType<IntegerAttr>(param.getArgNumber(), "weft.split_dim");
      const int64_t n = ptype.getNumElements();
      const bool sharded = zero > 0 && n % dp == 0;
      Value g = grad, p = param;
      if (sharded) {
        // ZeRO-1: this device reduces, keeps state for and updates only its
        // 1/dp slice of the flattened parameter, then all-gathers it back.
        auto flat = RankedTensorType::get({n}, ptype.getElementType());
        auto slice = RankedTensorType::get({n / dp}, ptype.getElementType());
        Value gFlat = ReshapeOp::create(b, loc, flat, g);
        g = shard::ReduceScatterOp::create(b, loc, slice, "mesh", ArrayRef<shard::GridAxis>{*dpAxis},
                                           gFlat, shard::ReductionKind::Average, llvm::APInt(64, 0));
        p = shard::AllSliceOp::create(b, loc, slice, "mesh", ArrayRef<shard::GridAxis>{*dpAxis},
                                      ReshapeOp::create(b, loc, flat, param), llvm::APInt(64, 0));
      } else if (zero > 0) {
        // Not divisible by dp: this parameter keeps the plain average.
        g = shard::AllReduceOp::create(b, loc, g, "mesh", ArrayRef<shard::GridAxis>{*dpAxis},
                                       shard::ReductionKind::Average);
      }
      pieces.push_back({param, g, p, sharded, splitDim, !countedElsewhere.contains(grad)});
    }

    // Clipping by the global L2 norm: g *= min(1, clip / (norm + 1e-6)).
    // The squares of what is split are summed over the axes that split it
    // (ZeRO slices over dp, tp slices over tp); replicated ones count once.
    if (clipNorm > 0) {
      Value sums[2][2]; // [over dp][over tp]: this device's partial sums
      for (Piece &pc : pieces) {
        if (!pc.inNorm)
          continue;
        SmallVector<int64_t> all;
        for (int64_t d = 0; d < cast<RankedTensorType>(pc.g.getType()).getRank(); ++d)
          all.push_back(d);
        Value sq = ReduceOp::create(b, loc, MulOp::create(b, loc, pc.g, pc.g), "sum", all, false);
        Value &acc = sums[pc.sharded][pc.splitDim && tpAxis];
        acc = acc ? Value(AddOp::create(b, loc, acc, sq)) : sq;
      }
      auto sumOver = [&](Value v, shard::GridAxis axis) {
        return Value(shard::AllReduceOp::create(b, loc, v, "mesh", ArrayRef<shard::GridAxis>{axis},
                                                shard::ReductionKind::Sum));
      };
      auto plus = [&](Value a, Value c) {
        return !a ? c : !c ? a : Value(AddOp::create(b, loc, a, c));
      };
      // Over tp: the tp-split ones, with the ZeRO slices of those summed over dp first.
      Value tpPart = plus(sums[0][1], sums[1][1] ? sumOver(sums[1][1], *dpAxis) : Value());
      Value total = plus(plus(sums[0][0], sums[1][0] ? sumOver(sums[1][0], *dpAxis) : Value()),
                         tpPart ? sumOver(tpPart, *tpAxis) : Value());
      // Pipelines: each pp rank holds its stages' parameters; the norm is over all.
      if (ppAxis)
        total = sumOver(total ? total : scalar(0.0f), *ppAxis);
      Value norm = SqrtOp::create(b, loc, total);
      Value factor = MinOp::create(
          b, loc, scalar(1.0f),
          DivOp::create(b, loc, scalar(clipNorm), AddOp::create(b, loc, norm, scalar(1e-6f))));
      for (Piece &pc : pieces)
        pc.g = MulOp::create(b, loc, pc.g,
                             BroadcastInDimOp::create(b, loc, pc.g.getType(), factor, ArrayRef<int64_t>{}));
    }

    std::vector<std::string> names; // keeps the StringRefs alive
    names.reserve(pieces.size() * 3);
    for (Piece &pc : pieces) {
      // An update points at its parameter's declaration.
      OpBuilder::InsertionGuard guard(b);
      BlockArgument param = pc.param;
      Location loc = param.getLoc();
      StringRef pname =
          step.getArgAttrOfType<StringAttr>(param.getArgNumber(), WeftDialect::kParam).getValue();
      auto ptype = cast<RankedTensorType>(param.getType());
      Type type = pc.p.getType();
      // The state is saved whole, in the parameter's global shape, so
      // checkpoints are interchangeable between meshes: a tp-split
      // parameter's state is split like it, a ZeRO one is the flat slice.
      SmallVector<int64_t> global;
      auto splitGroups = step.getArgAttrOfType<IntegerAttr>(param.getArgNumber(), "weft.split_groups");
      if (pc.splitDim) {
        auto g = step.getArgAttrOfType<DenseI64ArrayAttr>(param.getArgNumber(), "weft.global_shape");
        global.assign(g.asArrayRef().begin(), g.asArrayRef().end());
      } else if (pc.sharded) {
        global.assign(ptype.getShape().begin(), ptype.getShape().end());
      }
      // The whole (local) parameter from its updated slice.
      auto whole = [&](Value updated) {
        if (!pc.sharded)
          return updated;
        auto flat = RankedTensorType::get({ptype.getNumElements()}, ptype.getElementType());
        Value full = shard::AllGatherOp::create(b, loc, flat, "mesh",
                                                ArrayRef<shard::GridAxis>{*dpAxis}, updated,
                                                llvm::APInt(64, 0));
        return Value(ReshapeOp::create(b, loc, ptype, full));
      };
      Value p = pc.p, g = pc.g;
      if (kind == "adamw") {
        names.push_back(("optimizer.m." + pname).str());
        Value m = addState(names.back(), type, global, pc.splitDim, splitGroups, pc.sharded);
        names.push_back(("optimizer.v." + pname).str());
        Value v = addState(names.back(), type, global, pc.splitDim, splitGroups, pc.sharded);
        auto u = AdamwUpdateOp::create(b, loc, p, g, m, v, t, b.getF32FloatAttr(lr),
                                       b.getF32FloatAttr(beta1), b.getF32FloatAttr(beta2),
                                       b.getF32FloatAttr(eps), b.getF32FloatAttr(wd));
        updates.push_back({pname, whole(u.getNewParam())});
        updates.push_back({names[names.size() - 2], u.getNewM()});
        updates.push_back({names.back(), u.getNewV()});
      } else {
        names.push_back(("optimizer.momentum." + pname).str());
        Value buf = addState(names.back(), type, global, pc.splitDim, splitGroups, pc.sharded);
        auto u = SgdUpdateOp::create(b, loc, p, g, buf, t, b.getF32FloatAttr(lr),
                                     b.getF32FloatAttr(momentum), b.getF32FloatAttr(wd));
        updates.push_back({pname, whole(u.getNewParam())});
        updates.push_back({names.back(), u.getNewBuf()});
      }
    }

    SmallVector<Value> results(outputs);
    SmallVector<DictionaryAttr> attrs(outputAttrs);
    for (auto &[name, value] : updates) {
      results.push_back(value);
      attrs.push_back(b.getDictionaryAttr(b.getNamedAttr("weft.update", StringAttr::get(ctx, name))));
    }
    func::ReturnOp::create(b, ret->getLoc(), results);
    ret->erase();
    step.setFunctionType(FunctionType::get(ctx, step.getArgumentTypes(),
                                           ValueRange(results).getTypes()));
    step.setAllResultAttrs(attrs);
  }
};

} // namespace

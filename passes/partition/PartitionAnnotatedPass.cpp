//===- PartitionAnnotatedPass.cpp - weft-partition-annotated -------------===//
//
// User sharding annotations, partitioned the GSPMD way with upstream MLIR:
// `weft.sharding` on an argument or op of @forward names, per mesh axis, the
// dimension it splits ("dp:0,tp:1", or "replicated"). After autodiff and the
// optimizer, the annotations (and the default data-parallel plan: inputs
// split on the batch over dp) become `shard.shard` ops; upstream
// `sharding-propagation` and `shard-partition` do the rest through every weft
// op's ShardingInterface (dialects/weft/Interfaces). Unlike the pattern
// passes, this partitions the whole differentiated step, so gradients that
// are partial sums are reduced by shard-partition itself; the price is that
// the propagation, not a hand-tuned pattern, picks the collectives.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/ModelVerifier.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::weft {
#define GEN_PASS_DEF_PARTITIONANNOTATEDPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;

namespace {

constexpr StringLiteral kSharding = "weft.sharding";

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

// The mesh axes that are there (size > 1), in order: dp, then tp.
struct Mesh {
  SmallVector<std::string> names;
  SmallVector<int64_t> sizes;
  int axis(StringRef name) const {
    for (auto [i, n] : llvm::enumerate(names))
      if (n == name)
        return static_cast<int>(i);
    return -1;
  }
};

using Split = SmallVector<SmallVector<int16_t>>; // grid axes per tensor dimension

// "dp:0,tp:1" (brackets and spaces allowed; "replicated" or "" for none).
// Axes the mesh lacks are ignored: an annotation for tp holds on a dp-only
// mesh too.
FailureOr<Split> parse(StringRef text, int64_t rank, const Mesh &mesh,
                       function_ref<InFlightDiagnostic()> error) {
  Split split(rank);
  text = text.trim().trim("[]").trim();
  if (text.empty() || text == "replicated")
    return split;
  SmallVector<StringRef> entries;
  text.split(entries, ',');
  for (StringRef entry : entries) {
    auto [name, dimText] = entry.trim().split(':');
    name = name.trim();
    int64_t dim = -1;
    if (name != "dp" && name != "tp") {
      error() << "'weft.sharding' entry '" << entry.trim()
              << "' must be dp:<dim> or tp:<dim> (or \"replicated\")";
      return failure();
    }
    if (dimText.trim().getAsInteger(10, dim) || dim < 0 || dim >= rank) {
      error() << "'weft.sharding' entry '" << entry.trim() << "' names dimension '"
              << dimText.trim() << "' of a rank-" << rank << " tensor";
      return failure();
    }
    const int a = mesh.axis(name);
    if (a >= 0 && !llvm::is_contained(split[dim], a))
      split[dim].push_back(static_cast<int16_t>(a));
  }
  return split;
}

Value shardingOf(OpBuilder &b, Location loc, const Split &split) {
  SmallVector<shard::GridAxesAttr> axes;
  for (const auto &dim : split)
    axes.push_back(shard::GridAxesAttr::get(b.getContext(), dim));
  // Trailing unsplit dimensions are implied, but upstream wants at least one
  // entry ("replicated" is [[]], not []).
  while (axes.size() > 1 && axes.back().empty())
    axes.pop_back();
  return shard::ShardingOp::create(b, loc, "mesh", axes).getResult();
}

// The split the propagation settled on for a block argument: the sharding of
// its `annotate_for_users` shard op (the one shard-partition gives it).
std::optional<Split> argSplit(BlockArgument arg) {
  for (Operation *user : arg.getUsers())
    if (auto s = dyn_cast<shard::ShardOp>(user); s && s.getAnnotateForUsers()) {
      auto op = s.getSharding().getDefiningOp<shard::ShardingOp>();
      if (!op)
        return std::nullopt;
      Split split(tt(arg).getRank());
      for (auto [d, axes] : llvm::enumerate(op.getSplitAxes().getAxes()))
        if (d < split.size())
          split[d].assign(axes.asArrayRef().begin(), axes.asArrayRef().end());
      return split;
    }
  return Split(tt(arg).getRank());
}

struct PartitionAnnotatedPass
    : mlir::weft::impl::PartitionAnnotatedPassBase<PartitionAnnotatedPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!hasShardingAnnotations(module) || (dp <= 1 && tp <= 1))
      return; // one device: the annotations change nothing
    func::FuncOp fn = module.lookupSymbol<func::FuncOp>("train_step");
    if (!fn)
      fn = getForward(module);
    if (!fn || fn.isExternal()) {
      module.emitError() << "weft-partition-annotated needs @forward or @train_step";
      return signalPassFailure();
    }
    Mesh mesh;
    for (auto [name, size] : {std::pair<const char *, int64_t>{"dp", dp}, {"tp", tp}})
      if (size > 1) {
        mesh.names.push_back(name);
        mesh.sizes.push_back(size);
      }
    Builder attrs(&getContext());
    OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
    shard::GridOp::create(mb, module.getLoc(), "mesh", mesh.sizes);
    SmallVector<NamedAttribute> meshAttr;
    for (auto [n, s] : llvm::zip(mesh.names, mesh.sizes))
      meshAttr.push_back(attrs.getNamedAttr(n, attrs.getI64IntegerAttr(s)));
    module->setAttr("weft.mesh", attrs.getDictionaryAttr(meshAttr));

    // 1. Annotations (and the default DP plan) as shard.shard ops.
    Block &body = fn.front();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    const int dpAxis = mesh.axis("dp");
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        continue;
      Split split(type.getRank());
      if (auto text = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kSharding)) {
        auto parsed = parse(text.getValue(), type.getRank(), mesh,
                            [&] { return mlir::emitError(arg.getLoc()); });
        if (failed(parsed))
          return signalPassFailure();
        split = *parsed;
        fn.removeArgAttr(arg.getArgNumber(), kSharding);
        // For weftc --explain (compiler/analysis/ShardingAnalysis.cpp).
        fn.setArgAttr(arg.getArgNumber(), "weft.sharding_reason", attrs.getStringAttr("annotation"));
      } else if (fn.getArgAttr(arg.getArgNumber(), WeftDialect::kInput) && dpAxis >= 0 &&
                 type.getRank() > 0) {
        split[0].push_back(static_cast<int16_t>(dpAxis)); // the default data-parallel plan
      } else {
        continue;
      }
      Value s = shardingOf(b, arg.getLoc(), split);
      auto annotated = shard::ShardOp::create(b, arg.getLoc(), arg, s, /*annotate_for_users=*/true);
      arg.replaceAllUsesExcept(annotated, annotated);
    }
    WalkResult walk = fn.walk([&](Operation *op) {
      auto text = op->getAttrOfType<StringAttr>(kSharding);
      if (!text)
        return WalkResult::advance();
      op->removeAttr(kSharding);
      op->setAttr("weft.sharding_reason", attrs.getStringAttr("annotation"));
      if (op->getNumResults() != 1 || !isa<RankedTensorType>(op->getResult(0).getType())) {
        op->emitError() << "'weft.sharding' annotates the result of an op with one tensor result";
        return WalkResult::interrupt();
      }
      Value r = op->getResult(0);
      auto parsed = parse(text.getValue(), tt(r).getRank(), mesh, [&] { return op->emitError(); });
      if (failed(parsed))
        return WalkResult::interrupt();
      OpBuilder after(op->getBlock(), std::next(op->getIterator()));
      Value s = shardingOf(after, op->getLoc(), *parsed);
      auto annotated = shard::ShardOp::create(after, op->getLoc(), r, s);
      r.replaceAllUsesExcept(annotated, annotated);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    // 2. Upstream propagation through forward, backward and optimizer ops.
    OpPassManager propagate(func::FuncOp::getOperationName());
    propagate.addPass(shard::createShardingPropagation());
    if (failed(runPipeline(propagate, fn)))
      return signalPassFailure();

    // shard-partition takes each argument's sharding from its one user, an
    // annotate_for_users shard op; the propagation leaves some arguments
    // (a bias read by a broadcast) with other users. Those get one, with the
    // sharding their first such user has, or replicated.
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.getRank() == 0)
        continue;
      auto soleShard = [&] {
        if (!arg.hasOneUse())
          return false;
        auto s = dyn_cast<shard::ShardOp>(*arg.getUsers().begin());
        return s && s.getAnnotateForUsers();
      };
      if (soleShard())
        continue;
      std::optional<Split> split = argSplit(arg);
      OpBuilder entry = OpBuilder::atBlockBegin(&body);
      Value s = shardingOf(entry, arg.getLoc(), split ? *split : Split(type.getRank()));
      auto annotated = shard::ShardOp::create(entry, arg.getLoc(), arg, s, /*annotate_for_users=*/true);
      arg.replaceAllUsesExcept(annotated, annotated);
    }

    // 3. What the runtime must know of each argument, checked first.
    const int tpAxis = mesh.axis("tp");
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        continue;
      std::optional<Split> split = argSplit(arg);
      if (!split) {
        mlir::emitError(arg.getLoc()) << "argument #" << arg.getArgNumber()
                                      << " has a sharding the partition cannot read";
        return signalPassFailure();
      }
      const bool input = static_cast<bool>(fn.getArgAttr(arg.getArgNumber(), WeftDialect::kInput));
      StringRef nameKey = input ? StringRef(WeftDialect::kInput)
                          : fn.getArgAttr(arg.getArgNumber(), "weft.state") ? StringRef("weft.state")
                                                                            : StringRef(WeftDialect::kParam);
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), nameKey);
      std::string what = (Twine(input ? "input '" : "parameter '") +
                          (name ? name.getValue() : StringRef("?")) + "'")
                             .str();
      int64_t splitDim = -1;
      for (auto [d, axes] : llvm::enumerate(*split)) {
        for (int16_t a : axes) {
          const bool ok = input ? (a == dpAxis && d == 0) : a == tpAxis;
          if (!ok) {
            mlir::emitError(arg.getLoc())
                << what << " would be split along dimension " << d << " over "
                << mesh.names[a] << "; the runtime lays out inputs split on the batch (dim 0) "
                << "over dp and parameters split on one dimension over tp";
            return signalPassFailure();
          }
          if (!input) {
            if (splitDim >= 0 || axes.size() > 1) {
              mlir::emitError(arg.getLoc()) << what << " would be split on two dimensions";
              return signalPassFailure();
            }
            splitDim = static_cast<int64_t>(d);
          }
          if (type.getDimSize(d) % mesh.sizes[a] != 0) {
            mlir::emitError(arg.getLoc())
                << what << " has dimension " << d << " of " << type.getDimSize(d)
                << ", not divisible by " << mesh.names[a] << "=" << mesh.sizes[a];
            return signalPassFailure();
          }
        }
      }
      const bool split_ = input ? !(*split).empty() && !(*split)[0].empty() : splitDim >= 0;
      if (!split_)
        continue;
      fn.setArgAttr(arg.getArgNumber(), "weft.global_shape", attrs.getDenseI64ArrayAttr(type.getShape()));
      if (!fn.getArgAttr(arg.getArgNumber(), "weft.sharding_reason") && !input)
        fn.setArgAttr(arg.getArgNumber(), "weft.sharding_reason", attrs.getStringAttr("propagated"));
      if (splitDim >= 0)
        fn.setArgAttr(arg.getArgNumber(), "weft.split_dim", attrs.getI64IntegerAttr(splitDim));
    }
    SmallVector<SmallVector<int64_t>> globalResults;
    for (Type t : fn.getResultTypes())
      globalResults.push_back(llvm::to_vector(cast<RankedTensorType>(t).getShape()));

    // 4. Upstream partition: local shapes and collectives.
    OpPassManager partition(func::FuncOp::getOperationName());
    partition.addPass(shard::createPartition());
    if (failed(runPipeline(partition, fn))) {
      fn.emitError() << "upstream shard-partition could not lay out the annotated model (the "
                        "error above names the op); annotate the values around it too, e.g. a "
                        "bias with its weight";
      return signalPassFailure();
    }

    // (partition replaces the entry block: arguments of the local types)
    Block &entry = fn.front();
    // tensor.cast to the same type is what partition leaves between a
    // resharded value and its users.
    fn.walk([](tensor::CastOp c) {
      if (c.getSource().getType() == c.getType()) {
        c.getResult().replaceAllUsesWith(c.getSource());
        c.erase();
      }
    });
    // Results: split on the batch (gathered over dp) or on one dimension over
    // tp (assembled), read off their local shapes.
    Operation *ret = entry.getTerminator();
    for (auto [i, v] : llvm::enumerate(ret->getOperands())) {
      auto local = tt(v).getShape();
      const auto &global = globalResults[i];
      if (auto target = fn.getResultAttrOfType<StringAttr>(i, "weft.update")) {
        // An update is written over its parameter or state: same layout.
        for (BlockArgument arg : entry.getArguments())
          for (StringRef key : {StringRef(WeftDialect::kParam), StringRef("weft.state")})
            if (fn.getArgAttr(arg.getArgNumber(), key) == target && arg.getType() != v.getType()) {
              fn.emitError() << "the update of '" << target.getValue() << "' comes out as "
                             << v.getType() << " but the argument is " << arg.getType();
              return signalPassFailure();
            }
        continue;
      }
      for (auto [d, pair] : llvm::enumerate(llvm::zip(local, global))) {
        auto [l, g] = pair;
        if (l == g)
          continue;
        if (d == 0 && dpAxis >= 0 && l * mesh.sizes[dpAxis] == g) {
          fn.setResultAttr(i, "weft.global_shape", attrs.getDenseI64ArrayAttr(global));
        } else if (tpAxis >= 0 && l * mesh.sizes[tpAxis] == g) {
          fn.setResultAttr(i, "weft.split_dim", attrs.getI64IntegerAttr(d));
        } else {
          fn.emitError() << "result #" << i << " comes out split in a way the runtime cannot "
                         << "assemble (dimension " << d << ": " << l << " of " << g << ")";
          return signalPassFailure();
        }
      }
    }
    fn.setFunctionType(attrs.getFunctionType(entry.getArgumentTypes(), ret->getOperandTypes()));
    for (Operation &op : entry.without_terminator())
      if (!isa<shard::AllReduceOp, shard::AllGatherOp, shard::AllSliceOp, shard::AllToAllOp,
               shard::ReduceScatterOp, shard::GridOp>(op) &&
          op.getDialect() != getContext().getLoadedDialect<WeftDialect>()) {
        op.emitError() << "shard-partition left '" << op.getName()
                       << "', which Weft cannot run; the annotations ask for a layout the "
                          "weft ops' sharding rules do not cover";
        return signalPassFailure();
      }
    if (failed(verify(fn))) {
      fn.emitError() << "internal error: the annotated partition produced invalid IR";
      return signalPassFailure();
    }
  }
};

} // namespace

bool mlir::weft::hasShardingAnnotations(ModuleOp module) {
  func::FuncOp fn = getForward(module);
  if (!fn || fn.isExternal())
    return false;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (fn.getArgAttr(i, kSharding))
      return true;
  return fn.walk([](Operation *op) {
             return op->hasAttr(kSharding) ? WalkResult::interrupt() : WalkResult::advance();
           }).wasInterrupted();
}

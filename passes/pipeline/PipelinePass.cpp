//===- PipelinePass.cpp - weft-pipeline ----------------------------------===//
//
// Pipeline parallelism for training: one pp rank's @train_step is its list of
// the schedule (runtime/pipeline/schedule.h) unrolled: each of the rank's
// stages is outlined into private functions (@pp_stage<s>, its forward, and
// @pp_stage<s>_backward), called once per microbatch between the shard.recv
// and shard.send of the list; weft-inline-stages then makes it straight-line
// IR. The rest of the default pipeline (dp gradient sync, optimizer, fusion,
// memory plan) then treats it as any step function: the memory planner keeps
// each microbatch's stashed values exactly as long as the schedule needs
// them, and the runtime runs it like any rank program, its shard.send and
// shard.recv becoming Send/Recv instructions on the pp communicator.
//
// Each stage's backward is weft-autodiff's (buildTrainStep) applied to a
// surrogate loss: sum(out_k * dout_k) over the stage's outputs and their
// incoming gradients (the loss itself on the last stage), differentiated
// with respect to the stage's parameters and its inputs. That is a
// vector-Jacobian product by construction, so no per-op rule is written
// twice. It re-runs the stage's forward; where the same ops ran in the
// forward action, CSE keeps the forward's values instead (activations
// stashed, not recomputed).
//
// Written here rather than upstream because MLIR 22 has no pipeline
// transformation for the shard dialect (only the send/recv ops, used here).
//
//===----------------------------------------------------------------------===//
#include "compiler/pipeline/StageCut.h"
#include "compiler/pipeline/StageSchedule.h"
#include "dialects/weft/IR/ModelVerifier.h"
#include "dialects/weft/IR/WeftShapes.h"
#include "passes/Passes.h"
#include "runtime/pipeline/schedule.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <map>
#include <set>

namespace mlir::weft {
#define GEN_PASS_DEF_PIPELINEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::weft

using namespace mlir;
using namespace mlir::weft;
namespace pl = ::weft::pipeline;

namespace {

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

// What one stage computes, read off @forward.
struct StageParts {
  SmallVector<Operation *> ops;      // its ops and the input-only ops they need, in order
  SmallVector<BlockArgument> params; // parameters they read
  SmallVector<BlockArgument> inputs; // model inputs they read
  SmallVector<Value> in, out;        // values from the stage before, to the stage after
  func::FuncOp forwardFn;            // (params, inputs, in) -> out: @pp_stage<s>
  func::FuncOp backward;             // (params, inputs, in, dout) -> (L, dparams, din)

  // What a stage function takes first, in order: params, inputs, in.
  SmallVector<Value> leading() const {
    SmallVector<Value> v(params.begin(), params.end());
    v.append(inputs.begin(), inputs.end());
    v.append(in.begin(), in.end());
    return v;
  }
  // Copies the stage's ops to the end of `entry`, whose first arguments
  // stand for leading(); the mapping gives the copies' values.
  IRMapping cloneInto(Block *entry) const {
    IRMapping map;
    for (auto [i, v] : llvm::enumerate(leading()))
      map.map(v, entry->getArgument(i));
    OpBuilder ob = OpBuilder::atBlockEnd(entry);
    for (Operation *op : ops)
      ob.clone(*op, map);
    return map;
  }
};

// A stage outlined into `module` as a private function of (params, inputs,
// in) returning its outputs, so that @train_step calls it per microbatch.
func::FuncOp outlineForward(ModuleOp module, StageParts &p, int64_t stage) {
  Location loc = module.getLoc();
  Builder b(module.getContext());
  SmallVector<Type> results;
  for (Value v : p.out)
    results.push_back(v.getType());
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto fn = func::FuncOp::create(mb, loc, "pp_stage" + std::to_string(stage),
                                 b.getFunctionType(ValueRange(p.leading()).getTypes(), results));
  fn.setPrivate();
  Block *entry = fn.addEntryBlock();
  IRMapping map = p.cloneInto(entry);
  SmallVector<Value> outs;
  for (Value v : p.out)
    outs.push_back(map.lookup(v));
  OpBuilder ob = OpBuilder::atBlockEnd(entry);
  func::ReturnOp::create(ob, loc, outs);
  return fn;
}

// Splits @forward's ops over the plan's stages. Values computed from the
// inputs alone (masks, positions) are recomputed by every stage that needs
// them rather than sent; a value used stages after its own is relayed
// through the stages between, so each stage talks only to its neighbours,
// as the schedule core's lists do.
LogicalResult splitStages(func::FuncOp forward, const StagePlan &plan, Value loss,
                          std::vector<StageParts> &parts) {
  Block &body = forward.getBody().front();
  const int64_t numStages = plan.stages.size();
  DenseSet<Value> inputOnly;
  for (BlockArgument a : forward.getArguments())
    if (forward.getArgAttr(a.getArgNumber(), WeftDialect::kInput))
      inputOnly.insert(a);
  DenseSet<Operation *> inputOnlyOps;
  for (Operation &op : body.without_terminator())
    if (llvm::all_of(op.getOperands(), [&](Value v) { return inputOnly.contains(v); })) {
      inputOnlyOps.insert(&op);
      for (Value r : op.getResults())
        inputOnly.insert(r);
    }
  if (inputOnly.contains(loss))
    return forward.emitError() << "the loss does not depend on any parameter";

  DenseMap<Operation *, int64_t> stageOf;
  for (int64_t s = 0; s < numStages; ++s)
    for (Operation *op : plan.stages[s].ops)
      if (!inputOnlyOps.contains(op))
        stageOf[op] = s;
  DenseMap<Value, int64_t> defStage, lastUse;
  for (auto [op, s] : stageOf)
    for (Value r : op->getResults())
      defStage[r] = lastUse[r] = s;
  for (auto [op, s] : stageOf)
    for (Value v : op->getOperands())
      if (auto it = lastUse.find(v); it != lastUse.end())
        it->second = std::max(it->second, s);
  lastUse[loss] = numStages - 1; // the last stage returns it

  std::vector<SmallVector<Value>> boundary(numStages); // s -> s + 1
  for (Operation &op : body.without_terminator()) {
    if (!stageOf.count(&op))
      continue;
    for (Value r : op.getResults())
      for (int64_t s = defStage[r]; s < lastUse[r]; ++s) {
        if (!isa<FloatType>(tt(r).getElementType()))
          return op.emitError() << "this " << r.getType() << " value crosses from pipeline stage "
                                << defStage[r] << " to stage " << lastUse[r]
                                << "; only float activations can pass between stages";
        boundary[s].push_back(r);
      }
  }

  parts.assign(numStages, {});
  for (int64_t s = 0; s < numStages; ++s) {
    StageParts &p = parts[s];
    if (s > 0)
      p.in = boundary[s - 1];
    if (s + 1 < numStages) {
      p.out = boundary[s];
      if (p.out.empty())
        return forward.emitError() << "pipeline stage " << s << " passes nothing to stage "
                                   << s + 1 << ": the model is not a chain of layers there";
    }
    // The input-only ops the stage needs, transitively.
    DenseSet<Operation *> needed;
    SmallVector<Value> work;
    for (Operation *op : plan.stages[s].ops)
      if (stageOf.count(op))
        work.append(op->operand_begin(), op->operand_end());
    while (!work.empty()) {
      Operation *def = work.pop_back_val().getDefiningOp();
      if (def && inputOnlyOps.contains(def) && needed.insert(def).second)
        work.append(def->operand_begin(), def->operand_end());
    }
    llvm::SetVector<BlockArgument> params, inputs;
    for (Operation &op : body.without_terminator()) {
      auto it = stageOf.find(&op);
      if (!needed.contains(&op) && (it == stageOf.end() || it->second != s))
        continue;
      p.ops.push_back(&op);
      for (Value v : op.getOperands())
        if (auto arg = dyn_cast<BlockArgument>(v))
          (forward.getArgAttr(arg.getArgNumber(), WeftDialect::kParam) ? params : inputs).insert(arg);
    }
    auto byNumber = [](BlockArgument a, BlockArgument b) { return a.getArgNumber() < b.getArgNumber(); };
    p.params.assign(params.begin(), params.end());
    p.inputs.assign(inputs.begin(), inputs.end());
    llvm::sort(p.params, byNumber);
    llvm::sort(p.inputs, byNumber);
  }
  return success();
}

// The stage's backward, built by weft-autodiff in `scratch`: a function of
// (params, inputs, in, dout) returning (L, dparams..., din...).
LogicalResult buildBackward(ModuleOp scratch, func::FuncOp forward, StageParts &p, Value loss,
                            bool last, int64_t stage, bool recompute) {
  MLIRContext *ctx = forward.getContext();
  Location loc = forward.getLoc();
  Builder b(ctx);
  SmallVector<Type> types(ValueRange(p.leading()).getTypes());
  SmallVector<DictionaryAttr> attrs;
  for (BlockArgument a : p.params)
    attrs.push_back(forward.getArgAttrDict(a.getArgNumber()));
  for (BlockArgument a : p.inputs)
    attrs.push_back(forward.getArgAttrDict(a.getArgNumber()));
  // The stage's inputs are differentiated like parameters; the gradients of
  // its outputs come in like model inputs.
  for (size_t k = 0; k < p.in.size(); ++k)
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(WeftDialect::kParam, b.getStringAttr("pipeline.in." + Twine(k)))));
  for (auto [k, v] : llvm::enumerate(p.out)) {
    types.push_back(v.getType());
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(WeftDialect::kInput, b.getStringAttr("pipeline.dout." + Twine(k)))));
  }
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  OpBuilder mb = OpBuilder::atBlockEnd(scratch.getBody());
  auto fn = func::FuncOp::create(mb, loc, "stage" + std::to_string(stage),
                                 b.getFunctionType(types, {scalar}));
  fn.setAllArgAttrs(attrs);
  fn.setResultAttr(0, WeftDialect::kLoss, b.getUnitAttr());
  Block *entry = fn.addEntryBlock();
  IRMapping map = p.cloneInto(entry);
  unsigned arg = p.leading().size();
  OpBuilder ob = OpBuilder::atBlockEnd(entry);
  Value total = last ? map.lookup(loss) : Value();
  for (Value v : p.out) {
    Value dout = entry->getArgument(arg++);
    Value term = ReduceOp::create(ob, loc, scalar, MulOp::create(ob, loc, map.lookup(v), dout),
                                  "sum", llvm::to_vector(llvm::seq<int64_t>(0, tt(v).getRank())));
    total = total ? AddOp::create(ob, loc, total, term).getResult() : term;
  }
  func::ReturnOp::create(ob, loc, total);
  std::string name = "stage" + std::to_string(stage) + "_backward";
  if (failed(buildTrainStep(scratch, fn, recompute, name)))
    return failure();
  p.backward = scratch.lookupSymbol<func::FuncOp>(name);
  return success();
}

struct PipelinePass : mlir::weft::impl::PipelinePassBase<PipelinePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  // Builds the unrolled step of `rank`; `parts` describe the stages.
  LogicalResult unroll(func::FuncOp forward, std::vector<StageParts> &parts,
                       const pl::Schedule &schedule, Value loss, int16_t ppAxis);
};

void PipelinePass::runOnOperation() {
  ModuleOp module = getOperation();
  func::FuncOp forward = getForward(module);
  if (!forward || forward.isExternal()) {
    module.emitError() << "weft-pipeline needs a 'func.func @forward' with a body";
    return signalPassFailure();
  }
  if (pp < 2 || rank < 0 || rank >= pp || microbatches < 1 || virtualStages < 1) {
    module.emitError() << "weft-pipeline: needs pp >= 2, 0 <= rank < pp, microbatches >= 1 and "
                          "virtual-stages >= 1";
    return signalPassFailure();
  }
  std::optional<unsigned> lossIndex;
  for (unsigned i = 0; i < forward.getNumResults(); ++i)
    if (forward.getResultAttr(i, WeftDialect::kLoss))
      lossIndex = i;
  if (!lossIndex) {
    forward.emitError() << "pipeline parallelism trains: @forward needs a result marked weft.loss";
    return signalPassFailure();
  }
  Value loss = forward.getBody().front().getTerminator()->getOperand(*lossIndex);

  // The cut and the schedule, checked (deadlock, matching sends and
  // receives) by simulating every rank's list before anything is built.
  FailureOr<StagePlan> plan = cutStages(forward, pp * virtualStages, stages);
  if (failed(plan))
    return signalPassFailure();
  if (failed(simulateStagePlan(forward, *plan, pp, virtualStages, microbatches, schedule)))
    return signalPassFailure();
  // The same lists again (cheap: P x M entries), to unroll this rank's.
  pl::ScheduleOptions options;
  options.kind = *pl::ParseScheduleKind(schedule);
  options.stages = pp;
  options.microbatches = microbatches;
  options.virtual_stages = virtualStages;
  auto built = pl::BuildSchedule(options);
  if (!built.ok()) {
    forward.emitError() << "pipeline schedule: " << std::string(built.status().message());
    return signalPassFailure();
  }

  std::vector<StageParts> parts;
  if (failed(splitStages(forward, *plan, loss, parts)))
    return signalPassFailure();
  // This rank's stages, outlined: each stage's forward and backward become
  // private functions of the module (weft-inline-stages inlines them after),
  // the backward built by weft-autodiff in a scratch module.
  OwningOpRef<ModuleOp> scratch = ModuleOp::create(module.getLoc());
  for (int64_t s = 0; s < static_cast<int64_t>(parts.size()); ++s) {
    if (pl::RankOfStage(s, pp) != rank)
      continue;
    StageParts &p = parts[s];
    const bool last = s + 1 == static_cast<int64_t>(parts.size());
    if (failed(buildBackward(*scratch, forward, p, loss, last, s, recompute)))
      return signalPassFailure();
    p.backward = cast<func::FuncOp>(OpBuilder::atBlockEnd(module.getBody()).clone(*p.backward));
    p.backward.setName("pp_stage" + std::to_string(s) + "_backward");
    p.backward.setPrivate();
    for (unsigned i = 0; i < p.backward.getNumArguments(); ++i)
      p.backward.setArgAttrs(i, DictionaryAttr::get(&getContext()));
    for (unsigned i = 0; i < p.backward.getNumResults(); ++i)
      p.backward.setResultAttrs(i, DictionaryAttr::get(&getContext()));
    if (!last)
      p.forwardFn = outlineForward(module, p, s);
  }

  // @mesh gains the pp axis, last (the axes before keep their numbers).
  Builder b(&getContext());
  SmallVector<int64_t> shape;
  SmallVector<NamedAttribute> named;
  auto meshAttr = module->getAttrOfType<DictionaryAttr>("weft.mesh");
  if (auto grid = module.lookupSymbol<shard::GridOp>("mesh")) {
    shape.assign(grid.getShape().begin(), grid.getShape().end());
    grid.erase();
  }
  if (meshAttr)
    named.assign(meshAttr.begin(), meshAttr.end());
  shape.push_back(pp);
  named.push_back(b.getNamedAttr("pp", b.getI64IntegerAttr(pp)));
  OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
  shard::GridOp::create(mb, module.getLoc(), "mesh", shape);
  module->setAttr("weft.mesh", b.getDictionaryAttr(named));

  // What weft-dump and the artifact say of the pipeline.
  SmallVector<Attribute> stageInfo;
  for (auto [s, st] : llvm::enumerate(plan->stages)) {
    int64_t stash = 0;
    for (Value v : parts[s].in)
      stash += tensorBytes(v.getType());
    for (Operation *op : parts[s].ops)
      for (Value r : op->getResults())
        stash += tensorBytes(r.getType());
    stageInfo.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("first_block", b.getI64IntegerAttr(st.firstBlock)),
         b.getNamedAttr("last_block", b.getI64IntegerAttr(st.lastBlock)),
         b.getNamedAttr("forward_cost", b.getF64FloatAttr(st.time)),
         b.getNamedAttr("backward_cost", b.getF64FloatAttr(2 * st.time)),
         b.getNamedAttr("stash_bytes", b.getI64IntegerAttr(stash)),
         b.getNamedAttr("param_bytes", b.getI64IntegerAttr(st.paramBytes))}));
  }
  module->setAttr("weft.pipeline",
                  b.getDictionaryAttr({b.getNamedAttr("schedule", b.getStringAttr(schedule)),
                                       b.getNamedAttr("stages", b.getI64IntegerAttr(pp)),
                                       b.getNamedAttr("virtual_stages", b.getI64IntegerAttr(virtualStages)),
                                       b.getNamedAttr("microbatches", b.getI64IntegerAttr(microbatches)),
                                       b.getNamedAttr("rank", b.getI64IntegerAttr(rank)),
                                       b.getNamedAttr("stage_info", b.getArrayAttr(stageInfo))}));

  if (failed(unroll(forward, parts, *built, loss, static_cast<int16_t>(shape.size() - 1))))
    return signalPassFailure();
  forward.erase();
}

LogicalResult PipelinePass::unroll(func::FuncOp forward, std::vector<StageParts> &parts,
                                   const pl::Schedule &schedule, Value loss, int16_t ppAxis) {
  ModuleOp module = getOperation();
  Location loc = forward.getLoc();
  Builder b(&getContext());
  const int64_t numStages = parts.size(), M = microbatches;
  auto scalar = RankedTensorType::get({}, b.getF32Type());

  // The arguments: every model input (its batch is M microbatches) and the
  // parameters of this rank's stages, in @forward's order.
  std::set<unsigned> mine;
  std::map<unsigned, std::set<int64_t>> owners; // parameter -> the pp ranks that use it
  for (int64_t s = 0; s < numStages; ++s)
    for (BlockArgument a : parts[s].params) {
      owners[a.getArgNumber()].insert(pl::RankOfStage(s, pp));
      if (pl::RankOfStage(s, pp) == rank)
        mine.insert(a.getArgNumber());
    }
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<BlockArgument> sources;
  for (BlockArgument a : forward.getArguments()) {
    const bool input = static_cast<bool>(forward.getArgAttr(a.getArgNumber(), WeftDialect::kInput));
    if (!input && !mine.count(a.getArgNumber()))
      continue;
    Type type = a.getType();
    if (input) {
      SmallVector<int64_t> dims(tt(a).getShape());
      dims[0] *= M;
      type = RankedTensorType::get(dims, tt(a).getElementType());
    }
    argTypes.push_back(type);
    argAttrs.push_back(forward.getArgAttrDict(a.getArgNumber()));
    sources.push_back(a);
  }
  SmallVector<BlockArgument> params;
  for (BlockArgument a : sources)
    if (forward.getArgAttr(a.getArgNumber(), WeftDialect::kParam))
      params.push_back(a);
  SmallVector<Type> resultTypes{scalar};
  for (BlockArgument a : params)
    resultTypes.push_back(a.getType());
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto step = func::FuncOp::create(mb, loc, "train_step", b.getFunctionType(argTypes, resultTypes));
  step.setAllArgAttrs(argAttrs);
  Block *entry = step.addEntryBlock();
  DenseMap<Value, Value> argOf; // @forward's argument -> @train_step's
  for (auto [i, a] : llvm::enumerate(sources))
    argOf[a] = entry->getArgument(i);
  OpBuilder ob = OpBuilder::atBlockEnd(entry);

  // Microbatch mb of an input: rows [mb * b, (mb + 1) * b).
  std::map<std::pair<unsigned, int>, Value> slices;
  auto microbatch = [&](BlockArgument a, int mb) {
    Value &v = slices[{a.getArgNumber(), mb}];
    if (!v) {
      auto type = tt(a);
      SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape());
      start[0] = mb * type.getDimSize(0);
      limit[0] = start[0] + type.getDimSize(0);
      v = SliceOp::create(ob, loc, type, argOf[a], b.getDenseI64ArrayAttr(start),
                          b.getDenseI64ArrayAttr(limit));
    }
    return v;
  };
  auto zeros = [&](Type type) -> Value {
    auto t = cast<RankedTensorType>(type);
    Value zero = ConstantOp::create(
        ob, loc, DenseElementsAttr::get(RankedTensorType::get({}, t.getElementType()),
                                        b.getZeroAttr(t.getElementType())));
    return t.getRank() == 0 ? zero
                            : BroadcastInDimOp::create(ob, loc, t, zero, ArrayRef<int64_t>{}).getResult();
  };
  // A transfer's location says what it carries ("send activation mb 2 to pp
  // rank 1") at the model line of the value (weft-dump, --profile).
  auto where = [&](const Twine &what, Value of) -> Location {
    return NameLoc::get(b.getStringAttr(what), of.getLoc());
  };
  auto send = [&](Value v, int64_t peer, Location at) {
    shard::SendOp::create(ob, at, v.getType(), "mesh", ArrayRef<int16_t>{ppAxis}, v,
                          ArrayRef<int64_t>{peer}, ValueRange{});
  };
  auto recv = [&](Type type, int64_t peer, Location at) -> Value {
    return shard::RecvOp::create(ob, at, type, "mesh", ArrayRef<int16_t>{ppAxis}, zeros(type),
                                 b.getDenseI64ArrayAttr({peer}), ValueRange{});
  };

  // A stage function's leading arguments (StageParts::leading) on microbatch mb.
  auto leadingArgs = [&](const StageParts &p, int mb, ArrayRef<Value> received) {
    SmallVector<Value> args;
    for (BlockArgument a : p.params)
      args.push_back(argOf[a]);
    for (BlockArgument a : p.inputs)
      args.push_back(microbatch(a, mb));
    llvm::append_range(args, received);
    return args;
  };

  // Per (stage, microbatch): what came in, what goes out, and the gradients.
  std::map<std::pair<int64_t, int>, SmallVector<Value>> in, out, dout, din;
  DenseMap<Value, Value> gradSum; // @forward's parameter -> its gradient summed over microbatches
  Value lossSum;
  for (const pl::Instruction &inst : schedule.ranks[rank]) {
    if (inst.kind == pl::OpKind::kOptimizerStep)
      continue; // the end of the list: the gradients are complete below
    const int64_t s = pl::GlobalStage(rank, inst.chunk, pp);
    StageParts &p = parts[s];
    const std::pair<int64_t, int> key{s, inst.microbatch};
    switch (inst.kind) {
    case pl::OpKind::kRecvActivation:
      for (Value v : p.in)
        in[key].push_back(recv(v.getType(), inst.peer,
                               where("recv activation mb " + Twine(inst.microbatch) +
                                         " from pp rank " + Twine(inst.peer), v)));
      break;
    case pl::OpKind::kForward: {
      if (s + 1 == numStages)
        break; // the last stage's forward runs inside its backward
      auto call = func::CallOp::create(ob, loc, p.forwardFn, leadingArgs(p, inst.microbatch, in[key]));
      llvm::append_range(out[key], call.getResults());
      break;
    }
    case pl::OpKind::kSendActivation:
      for (auto [v, of] : llvm::zip(out[key], p.out))
        send(v, inst.peer, where("send activation mb " + Twine(inst.microbatch) + " to pp rank " +
                                     Twine(inst.peer), of));
      break;
    case pl::OpKind::kRecvGradient:
      for (Value v : p.out)
        dout[key].push_back(recv(v.getType(), inst.peer,
                                 where("recv gradient mb " + Twine(inst.microbatch) +
                                           " from pp rank " + Twine(inst.peer), v)));
      break;
    case pl::OpKind::kBackward: {
      // The stage's backward on this microbatch: (L, dparams..., din...).
      SmallVector<Value> args = leadingArgs(p, inst.microbatch, in[key]);
      llvm::append_range(args, dout[key]);
      auto call = func::CallOp::create(ob, loc, p.backward, args);
      unsigned r = 0;
      Value l = call.getResult(r++);
      // Running sums, added right after each backward so that a
      // microbatch's gradients die there (weft.accumulate keeps fusion from
      // moving the adds to the end).
      auto accumulate = [&](Value &sum, Value g) {
        if (!sum) {
          sum = g;
          return;
        }
        auto add = AddOp::create(ob, loc, sum, g);
        add->setAttr("weft.accumulate", b.getUnitAttr());
        sum = add;
      };
      if (s + 1 == numStages)
        accumulate(lossSum, l);
      for (BlockArgument a : p.params)
        accumulate(gradSum[a], call.getResult(r++));
      for (size_t k = 0; k < p.in.size(); ++k)
        din[key].push_back(call.getResult(r++));
      break;
    }
    case pl::OpKind::kSendGradient:
      for (auto [v, of] : llvm::zip(din[key], p.in))
        send(v, inst.peer, where("send gradient mb " + Twine(inst.microbatch) + " to pp rank " +
                                     Twine(inst.peer), of));
      break;
    case pl::OpKind::kOptimizerStep:
      break; // skipped above
    }
  }

  // The batch's mean loss is the mean of the microbatches' (equal sizes), so
  // gradients are averaged the same way.
  const float perMicrobatch = 1.0f / static_cast<float>(M);
  auto average = [&](Value v) {
    return M == 1 ? v : ScaleOp::create(ob, loc, v.getType(), v, b.getF32FloatAttr(perMicrobatch)).getResult();
  };
  SmallVector<Value> results;
  Value l = lossSum ? average(lossSum) : zeros(scalar);
  // Every rank returns the loss: only the last stage has it, the others add 0.
  results.push_back(shard::AllReduceOp::create(ob, loc, l, "mesh", ArrayRef<shard::GridAxis>{ppAxis},
                                               shard::ReductionKind::Sum));
  for (BlockArgument a : params) {
    Value g = gradSum.count(a) ? average(gradSum[a]) : zeros(a.getType());
    // A tied parameter (used by stages on several ranks) gets every owner's
    // part. Lower ranks send first, higher ones receive first, so the
    // exchange cannot deadlock even where a send waits for its receive.
    Value own = g;
    for (int64_t q : owners[a.getArgNumber()]) {
      if (q == rank)
        continue;
      Value theirs;
      auto name = forward.getArgAttrOfType<StringAttr>(a.getArgNumber(), WeftDialect::kParam);
      Location at = where("tied " + name.getValue() + ": gradient exchange with pp rank " + Twine(q), a);
      if (rank < q) {
        send(own, q, at);
        theirs = recv(own.getType(), q, at);
      } else {
        theirs = recv(own.getType(), q, at);
        send(own, q, at);
      }
      g = AddOp::create(ob, loc, g, theirs);
    }
    results.push_back(g);
  }
  func::ReturnOp::create(ob, loc, results);
  step.setResultAttr(0, WeftDialect::kLoss, b.getUnitAttr());
  step.setResultAttr(0, WeftDialect::kOutput, b.getStringAttr("loss"));
  for (auto [i, a] : llvm::enumerate(params)) {
    step.setResultAttr(i + 1, "weft.grad", forward.getArgAttr(a.getArgNumber(), WeftDialect::kParam));
    // A tied parameter's gradient is counted by its first holder in the
    // global norm (--clip-norm), which weft-optimizer sums over pp.
    if (*owners[a.getArgNumber()].begin() != rank)
      step.setResultAttr(i + 1, "weft.norm_counted_elsewhere", b.getUnitAttr());
  }
  return success();
}

} // namespace

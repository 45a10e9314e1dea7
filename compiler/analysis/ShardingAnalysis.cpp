//===- ShardingAnalysis.cpp ----------------------------------------------===//
//
// Forward dataflow in program order: the arguments are seeded from their
// attributes, then each op's results take their sharding from its operands
// by one rule per op kind (an elementwise op keeps its operands' split, a
// transpose permutes it, a matmul that contracts a split dimension on both
// sides yields a partial sum, a collective resolves its axis). The passes
// produced consistent local shapes, so the rules only have to follow them;
// anything they cannot place is reported as unknown ("?"), never guessed.
//
//===----------------------------------------------------------------------===//
#include "compiler/analysis/ShardingAnalysis.h"
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::weft;

namespace {

using Reason = ShardingReason;

// Ops whose operands and result share one layout, element for element.
bool isElementwiseLike(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, NegOp, ExpOp, LogOp, SqrtOp, RsqrtOp,
             TanhOp, SigmoidOp, ReluOp, SiluOp, GeluOp, CastOp, ScaleOp, ReluGradOp, SiluGradOp,
             SigmoidGradOp, TanhGradOp, GeluGradOp, MaxGradOp, MinGradOp>(op);
}

int64_t rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : 0;
}

// "gpt_tiny.mlir:46:10" for the first file location inside `loc`.
std::string locString(Location loc) {
  std::string out;
  loc->walk([&](Location l) {
    if (auto f = dyn_cast<FileLineColLoc>(l)) {
      out = (llvm::sys::path::filename(f.getFilename().getValue()) + ":" + Twine(f.getLine()) +
             ":" + Twine(f.getColumn()))
                .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out.empty() ? "unknown" : out;
}

// Does `v` flow (through a bias add and the head reshape/transpose) into
// weft.attention? Then its matmul is a q, k or v projection.
bool feedsAttention(Value v, int depth = 0) {
  if (depth > 5)
    return false;
  for (Operation *user : v.getUsers()) {
    if (isa<AttentionOp>(user))
      return true;
    if (isa<AddOp, ReshapeOp, TransposeOp>(user) && feedsAttention(user->getResult(0), depth + 1))
      return true;
  }
  return false;
}

// Does `v` come (through the head transpose and merge reshape) from
// weft.attention? Then its matmul is the output projection.
bool fedByAttention(Value v, int depth = 0) {
  Operation *def = v.getDefiningOp();
  if (!def || depth > 3)
    return false;
  if (isa<AttentionOp>(def))
    return true;
  return isa<ReshapeOp, TransposeOp>(def) && fedByAttention(def->getOperand(0), depth + 1);
}

// Logits (directly or through a bias add) of the vocabulary-parallel loss.
bool feedsVocabLoss(Value logits) {
  for (Operation *user : logits.getUsers())
    if (isa<VocabShardStatsOp>(user) || (isa<AddOp>(user) && feedsVocabLoss(user->getResult(0))))
      return true;
  return false;
}

// Names the --tp-style=megatron pattern that split parameter `arg`.
std::string megatronPattern(BlockArgument arg, int64_t splitDim) {
  if (auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
      fn && fn.getArgAttr(arg.getArgNumber(), "weft.split_groups"))
    return cast<RankedTensorType>(arg.getType()).getRank() == 1
               ? "LSTM: the gate bias split by hidden units (H/tp of each gate)"
               : "LSTM: a gate weight split by hidden units (H/tp of each gate)";
  auto column = [](MatmulOp m) {
    return feedsAttention(m.getResult()) ? "attention heads: a q/k/v projection split by column"
                                         : "MLP: the first matmul split by column";
  };
  for (Operation *user : arg.getUsers())
    if (auto e = dyn_cast<EmbeddingOp>(user); e && e.getVocabAxis())
      return "vocabulary: the embedding table (and a tied LM head) split over the vocabulary";
  for (Operation *user : arg.getUsers()) {
    if (auto m = dyn_cast<MatmulOp>(user); m && m.getRhs() == arg) {
      if (feedsVocabLoss(m.getResult()))
        return "vocabulary: the LM head split over the vocabulary";
      if (splitDim == 1)
        return column(m);
      return fedByAttention(m.getLhs()) ? "attention heads: the output projection split by row"
                                        : "MLP: the second matmul split by row";
    }
    if (auto bc = dyn_cast<BroadcastInDimOp>(user))
      for (Operation *add : bc.getResult().getUsers())
        if (isa<AddOp>(add))
          for (Value side : add->getOperands())
            if (auto m = side.getDefiningOp<MatmulOp>()) {
              if (feedsVocabLoss(add->getResult(0)))
                return "vocabulary: the LM head's bias split over the vocabulary";
              return std::string("the bias of ") +
                     (feedsAttention(m.getResult()) ? "a q/k/v projection" : "the first MLP matmul") +
                     ", split with its columns";
            }
  }
  return "split by --tp-style=megatron";
}

const char *kindWord(Reason::Kind k) {
  switch (k) {
  case Reason::Default: return "default";
  case Reason::Megatron: return "megatron";
  case Reason::Annotation: return "annotation";
  case Reason::Propagated: return "propagated";
  case Reason::Collective: return "collective";
  }
  return "";
}

} // namespace

ShardingAnalysis::ShardingAnalysis(func::FuncOp fn) : fn(fn) {
  // The grid's order: dp outer, tp inner (see weft-partition-tensor).
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto mesh = module->getAttrOfType<DictionaryAttr>("weft.mesh"))
      for (StringRef name : {"dp", "tp"})
        if (mesh.get(name))
          axes.push_back(name.str());
  if (fn.isExternal())
    return;
  analyseArgs(fn);
  analyseBlock(fn.getBody().front());
}

int ShardingAnalysis::axisIndex(StringRef name) const {
  for (auto [i, a] : llvm::enumerate(axes))
    if (a == name)
      return static_cast<int>(i);
  return -1;
}

const ValueSharding *ShardingAnalysis::lookup(Value v) const {
  auto it = info.find(v);
  return it == info.end() ? nullptr : &it->second;
}

void ShardingAnalysis::analyseArgs(func::FuncOp fn) {
  const int dp = axisIndex("dp"), tp = axisIndex("tp");
  for (BlockArgument arg : fn.getArguments()) {
    unsigned i = arg.getArgNumber();
    ValueSharding s;
    s.axes.resize(axes.size());
    s.why.resize(axes.size());
    auto splitDim = fn.getArgAttrOfType<IntegerAttr>(i, "weft.split_dim");
    bool global = static_cast<bool>(fn.getArgAttr(i, "weft.global_shape"));
    bool input = static_cast<bool>(fn.getArgAttr(i, WeftDialect::kInput));
    bool state = static_cast<bool>(fn.getArgAttr(i, "weft.state"));
    for (size_t a = 0; a < axes.size(); ++a)
      s.why[a] = {Reason::Default, input ? "this input is whole on every device"
                                         : "parameters and optimizer state are whole on every "
                                           "device unless a pattern splits them"};
    if (input && global && dp >= 0) {
      s.axes[dp] = {AxisSharding::Split, 0};
      s.why[dp].detail = "the data-parallel plan splits every input on the batch (dim 0)";
    } else if (splitDim && tp >= 0) {
      s.axes[tp] = {AxisSharding::Split, splitDim.getInt()};
      s.why[tp] = {Reason::Megatron, megatronPattern(arg, splitDim.getInt())};
      if (state)
        s.why[tp].detail = "the optimizer state of a parameter split by megatron";
    } else if (state && global && dp >= 0) {
      s.axes[dp] = {AxisSharding::Split, 0};
      s.why[dp].detail = "ZeRO-1: each dp rank holds a flat slice of the optimizer state";
    }
    if (auto r = fn.getArgAttrOfType<StringAttr>(i, "weft.sharding_reason")) {
      if (r.getValue() == "annotation")
        for (Reason &why : s.why)
          why = {Reason::Annotation, "a user annotation (weft.sharding)"};
      else if (r.getValue() == "propagated")
        for (Reason &why : s.why)
          why = {Reason::Propagated, "by upstream sharding-propagation from the annotations"};
    }
    info[arg] = std::move(s);
  }
}

void ShardingAnalysis::analyseBlock(Block &block) {
  for (Operation &op : block)
    if (op.getNumResults())
      analyseOp(&op);
  // Backwards, once: a broadcast or constant that meets a split value in an
  // elementwise op has that value's local shape (weft-partition-batch shrank
  // it), so it is that slice of the global tensor, though every device's
  // copy holds the same numbers.
  for (Operation &op : llvm::reverse(block)) {
    if (op.getNumResults() != 1 || !isElementwiseLike(&op))
      continue;
    const ValueSharding *user = lookup(op.getResult(0));
    if (!user)
      continue;
    for (OpOperand &use : op.getOpOperands()) {
      Value v = use.get();
      if (!v.getDefiningOp<BroadcastInDimOp>() && !v.getDefiningOp<ConstantOp>())
        continue;
      if (v.getType() != op.getResult(0).getType() || !info.count(v))
        continue;
      ValueSharding &s = info[v];
      for (size_t a = 0; a < axes.size(); ++a)
        if (user->axes[a].kind == AxisSharding::Split && s.axes[a].kind == AxisSharding::Replicated) {
          s.axes[a] = user->axes[a];
          s.why[a] = {Reason::Propagated, "", static_cast<int>(use.getOperandNumber()),
                      op.getResult(0), &op};
        }
    }
  }
}

void ShardingAnalysis::analyseOp(Operation *op) {
  const size_t n = axes.size();
  auto get = [&](Value v, size_t a) {
    auto it = info.find(v);
    return it == info.end() || a >= it->second.axes.size() ? AxisSharding{} : it->second.axes[a];
  };

  if (auto fused = dyn_cast<FusedOp>(op)) {
    // The region's own ops follow the same rules; its arguments are the inputs.
    Block &body = fused.getBody().front();
    for (auto [arg, in] : llvm::zip(body.getArguments(), fused.getInputs()))
      info[arg] = info.lookup(in);
    analyseBlock(body);
    Operation *yield = body.getTerminator();
    for (auto [r, y] : llvm::zip(fused.getResults(), yield->getOperands())) {
      ValueSharding s = info.lookup(y);
      s.axes.resize(n);
      s.why.resize(n);
      for (size_t a = 0; a < n; ++a) {
        // Point at the fused op's operand rather than a value inside it.
        s.why[a] = {Reason::Propagated, "through the fused elementwise region", -1, {}};
        for (auto [i, in] : llvm::enumerate(fused.getInputs()))
          if (s.axes[a].kind != AxisSharding::Replicated && get(in, a) == s.axes[a]) {
            s.why[a] = {Reason::Propagated, "", static_cast<int>(i), in};
            break;
          }
        if (s.axes[a].kind == AxisSharding::Replicated)
          s.why[a].detail = "its operands are replicated";
      }
      info[r] = std::move(s);
    }
    return;
  }

  // A contribution: operand `i`'s split, with its dimension mapped into the
  // result (-1: the result has no such dimension, so a sum over it: partial).
  struct Pick {
    AxisSharding s;
    Reason why;
  };
  for (OpResult res : op->getResults()) {
    const unsigned r = res.getResultNumber();
    const int64_t rank = rankOf(res);
    ValueSharding vs;
    vs.axes.resize(n);
    vs.why.resize(n);
    for (size_t a = 0; a < n; ++a) {
      SmallVector<Pick> picks;
      // Operand i's sharding on this axis through a dimension map.
      auto from = [&](unsigned i, llvm::function_ref<int64_t(int64_t)> map) {
        if (i >= op->getNumOperands())
          return;
        Value v = op->getOperand(i);
        AxisSharding s = get(v, a);
        if (s.kind == AxisSharding::Replicated)
          return;
        Reason why{Reason::Propagated, "", static_cast<int>(i), v};
        if (s.kind == AxisSharding::Split) {
          int64_t d = map(s.dim);
          if (d == -1) {
            why.detail = "a reduction over the dimension " + std::to_string(s.dim) +
                         " it splits over " + axes[a] + ": each device holds a partial result";
            s = {AxisSharding::Partial, -1};
          } else if (d < -1) {
            why.detail = "the split dimension has no place in the result";
            s = {AxisSharding::Unknown, -1};
          } else {
            s.dim = d;
          }
        }
        picks.push_back({s, why});
      };
      auto same = [](int64_t d) { return d; };
      auto sameRank = [&](ValueRange operands, unsigned first) {
        for (auto [k, v] : llvm::enumerate(operands))
          if (rankOf(v) == rank)
            from(first + k, same);
      };
      auto collective = [&](ArrayRef<int16_t> gridAxes, AxisSharding onAxis, StringRef what) {
        if (llvm::is_contained(gridAxes, static_cast<int16_t>(a)))
          picks.push_back({onAxis, {Reason::Collective, (op->getName().getStringRef() + " " + what +
                                                         " over " + axes[a]).str()}});
        else
          from(0, same);
      };
      bool handled = true;
      llvm::TypeSwitch<Operation *>(op)
          .Case([&](ConstantOp) {})
          .Case([&](BroadcastInDimOp b) {
            auto dims = b.getDims();
            from(0, [&](int64_t d) { return d < static_cast<int64_t>(dims.size()) ? dims[d] : -1; });
          })
          .Case([&](TransposeOp t) {
            auto perm = t.getPerm();
            from(0, [&](int64_t d) {
              auto it = llvm::find(perm, d);
              return it == perm.end() ? int64_t(-1) : int64_t(it - perm.begin());
            });
          })
          .Case([&](ReshapeOp rs) {
            // A split dimension lands where the elements before it do: the
            // result dimension with the same product of dimensions before it.
            auto in = rs.getOperand().getType().getShape();
            auto out = rs.getType().getShape();
            from(0, [&](int64_t d) -> int64_t {
              int64_t before = 1, at = 1;
              for (int64_t k = 0; k < d; ++k)
                before *= in[k];
              int64_t found = -1;
              for (int64_t k = 0; k < static_cast<int64_t>(out.size()); at *= out[k], ++k)
                if (at == before && (found < 0 || out[found] == 1))
                  found = k;
              return found < 0 ? -2 : found;
            });
          })
          .Case([&](ReduceOp red) {
            auto dims = red.getDims();
            int64_t inRank = rankOf(red.getOperand());
            bool keep = red.getKeepDims();
            from(0, [&](int64_t d) -> int64_t {
              int64_t removed = 0;
              for (int64_t x : dims) {
                int64_t xd = x < 0 ? x + inRank : x;
                if (xd == d)
                  return -1;
                removed += xd < d;
              }
              return keep ? d : d - removed;
            });
          })
          .Case([&](MatmulOp m) {
            int64_t lr = rankOf(m.getLhs()), rr = rankOf(m.getRhs());
            bool ta = m.getTransposeA(), tb = m.getTransposeB();
            int64_t lhsK = ta ? lr - 2 : lr - 1, rhsK = tb ? rr - 1 : rr - 2;
            AxisSharding ls = get(m.getLhs(), a), rs = get(m.getRhs(), a);
            bool lk = ls.kind == AxisSharding::Split && ls.dim == lhsK;
            bool rk = rs.kind == AxisSharding::Split && rs.dim == rhsK;
            if (lk && rk) {
              picks.push_back({{AxisSharding::Partial, -1},
                               {Reason::Propagated,
                                "the matmul contracts the dimension that operands #0 and #1 "
                                "split over " + axes[a] + ": each device holds a partial sum"}});
              return;
            }
            if (lk != rk) {
              picks.push_back({{AxisSharding::Unknown, -1},
                               {Reason::Propagated,
                                "only one operand is split along the contracted dimension"}});
              return;
            }
            from(0, [&](int64_t d) -> int64_t {
              if (d < lr - 2)
                return d;
              return rank - 2; // M (K was handled above)
            });
            from(1, [&](int64_t d) -> int64_t {
              if (d < rr - 2)
                return d;
              return rank - 1; // N
            });
          })
          .Case([&](EmbeddingOp e) {
            from(1, same);  // ids [...] -> result [..., D]
            from(0, [&](int64_t d) { return d == 1 ? rank - 1 : int64_t(-1); });
            if (e.getVocabAxis() && static_cast<size_t>(*e.getVocabAxis()) == a)
              for (Pick &p : picks)
                if (p.s.kind == AxisSharding::Partial)
                  p.why.detail = "a vocabulary shard's lookup: ids of other shards give zero rows, "
                                 "so each device holds an addend";
          })
          .Case([&](VocabShardStatsOp v) {
            // Rows as the logits'; the shard's statistics are addends over
            // the vocabulary axis.
            int64_t lr = rankOf(v.getLogits());
            from(0, [&](int64_t d) { return d == lr - 1 ? int64_t(-1) : d; });
            for (Pick &p : picks)
              if (p.s.kind == AxisSharding::Partial)
                p.why.detail = "the vocabulary shard's sum of exp and label logit: addends of the "
                               "whole vocabulary's";
          })
          .Case([&](VocabShardStatsGradOp) { from(0, same); })
          .Case([&](EmbeddingGradOp) {
            from(0, [](int64_t) { return int64_t(-1); }); // rows scatter-added
            int64_t dyRank = rankOf(op->getOperand(1));
            from(1, [&](int64_t d) { return d == dyRank - 1 ? int64_t(1) : int64_t(-1); });
          })
          .Case([&](CrossEntropyOp) {
            // A mean over the local rows (or the local classes).
            from(0, [](int64_t) { return int64_t(-1); });
            from(1, [](int64_t) { return int64_t(-1); });
          })
          .Case([&](CrossEntropyGradOp) { from(0, same); })
          .Case<LayerNormOp, RmsNormOp>([&](Operation *) {
            from(0, same);
            for (unsigned i = 1; i < op->getNumOperands(); ++i)
              from(i, [&](int64_t) { return rank - 1; });
          })
          .Case<LayerNormGradOp, RmsNormGradOp>([&](Operation *) {
            if (r == 0) {
              from(0, same);
              from(2, same);
              return;
            }
            // dgamma, dbeta: sums over every row of x and dy.
            int64_t xr = rankOf(op->getOperand(0));
            auto rows = [&](int64_t d) { return d == xr - 1 ? int64_t(0) : int64_t(-1); };
            from(0, rows);
            from(2, rows);
          })
          .Case([&](AttentionGradOp) {
            from(r, same);
            from(3, same);
          })
          .Case<SgdUpdateOp, AdamwUpdateOp>([&](Operation *) {
            // Every result has the parameter's layout.
            for (unsigned i = 0; i + 1 < op->getNumOperands(); ++i)
              from(i, same);
          })
          .Case([&](shard::AllReduceOp c) {
            collective(c.getGridAxes(), {},
                       c.getReduction() == shard::ReductionKind::Max   ? "takes the maximum of the partial values"
                       : c.getReduction() == shard::ReductionKind::Min ? "takes the minimum of the partial values"
                                                                        : "sums the partial values");
          })
          .Case([&](shard::AllGatherOp c) {
            collective(c.getGridAxes(), {}, "gathers the slices");
          })
          .Case([&](TpGatherOp g) {  // an LSTM's h, before weft-lower-tp-gather
            collective({static_cast<int16_t>(g.getGridAxis())}, {}, "gathers the slices");
          })
          .Case([&](shard::ReduceScatterOp c) {
            collective(c.getGridAxes(),
                       {AxisSharding::Split, static_cast<int64_t>(c.getScatterAxis().getSExtValue())},
                       "reduces and scatters");
          })
          .Case([&](shard::AllSliceOp c) {
            collective(c.getGridAxes(),
                       {AxisSharding::Split, static_cast<int64_t>(c.getSliceAxis().getSExtValue())},
                       "takes each device's slice");
          })
          .Default([&](Operation *) { handled = false; });
      if (!handled) {
        // Elementwise ops and everything of one layout (softmax, attention,
        // slice, pad, cast, tp_copy, the elementwise gradients): operands of
        // the result's rank keep their split.
        sameRank(op->getOperands(), 0);
        if (picks.empty())
          for (Value v : op->getOperands())
            if (get(v, a).kind != AxisSharding::Replicated)
              picks.push_back({{AxisSharding::Unknown, -1},
                               {Reason::Propagated,
                                ("no sharding rule for " + op->getName().getStringRef()).str()}});
      }
      if (picks.empty()) {
        vs.why[a] = {Reason::Propagated, "its operands are replicated"};
        if (isa<ConstantOp>(op))
          vs.why[a] = {Reason::Default, "a constant"};
        continue;
      }
      // The first contribution decides; a partial sum dominates a split (the
      // sum is still pending whatever else is split).
      Pick best = picks.front();
      for (const Pick &p : picks)
        if (p.s.kind == AxisSharding::Partial || p.s.kind == AxisSharding::Unknown) {
          best = p;
          break;
        }
      vs.axes[a] = best.s;
      vs.why[a] = best.why;
    }
    if (auto reason = op->getAttrOfType<StringAttr>("weft.sharding_reason");
        reason && reason.getValue() == "annotation")
      for (Reason &why : vs.why)
        why = {Reason::Annotation, "a user annotation (weft.sharding)"};
    info[res] = std::move(vs);
  }
}

std::string ShardingAnalysis::label(Value v) const {
  const ValueSharding *s = lookup(v);
  if (!s)
    return "?";
  SmallVector<std::string> parts;
  for (auto [name, ax] : llvm::zip(axes, s->axes)) {
    if (ax.kind == AxisSharding::Split)
      parts.push_back(name + ":" + std::to_string(ax.dim));
    else if (ax.kind == AxisSharding::Partial)
      parts.push_back("partial(" + name + ")");
    else if (ax.kind == AxisSharding::Unknown)
      parts.push_back(name + ":?");
  }
  if (parts.empty())
    return "replicated";
  return "[" + llvm::join(parts, ", ") + "]";
}

std::string ShardingAnalysis::describe(Value v) const {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner()->getParentOp() != fn.getOperation())
      return "a fused region's input";
    unsigned i = arg.getArgNumber();
    for (StringRef key : {WeftDialect::kInput.data(), WeftDialect::kParam.data(), "weft.state"})
      if (auto name = fn.getArgAttrOfType<StringAttr>(i, key))
        return (key.drop_front(5) + " '" + name.getValue() + "'").str();
    return ("%arg" + Twine(i)).str();
  }
  Operation *def = v.getDefiningOp();
  return (def->getName().getStringRef() + " at " + locString(def->getLoc())).str();
}

SmallVector<std::string> ShardingAnalysis::reasons(Value v) const {
  SmallVector<std::string> out;
  const ValueSharding *s = lookup(v);
  if (!s)
    return out;
  auto text = [&](size_t a) {
    const Reason &why = s->why[a];
    std::string line = kindWord(why.kind);
    if (why.kind == Reason::Propagated && why.user) {
      line += " from its user " + describe(why.from) + " (its operand #" +
              std::to_string(why.operand) + ")";
    } else if (why.kind == Reason::Propagated && why.operand >= 0) {
      line += " from operand #" + std::to_string(why.operand) + " (" + describe(why.from);
      // An argument's own reason is what the reader wants: the root cause.
      if (const ValueSharding *src = lookup(why.from);
          src && isa<BlockArgument>(why.from) && a < src->why.size() &&
          src->axes[a].kind != AxisSharding::Replicated)
        line += std::string(", ") + kindWord(src->why[a].kind) + ": " + src->why[a].detail;
      line += ")";
    }
    if (!why.detail.empty())
      line += ": " + why.detail;
    return line;
  };
  // Axes with the same reason share a line: "dp, tp: propagated from ...".
  SmallVector<std::pair<std::string, std::string>> lines; // axes, reason
  for (size_t a = 0; a < axes.size(); ++a) {
    const Reason::Kind k = s->why[a].kind;
    if (s->axes[a].kind == AxisSharding::Replicated && k != Reason::Collective &&
        k != Reason::Annotation)
      continue;
    std::string t = text(a);
    auto it = llvm::find_if(lines, [&](auto &l) { return l.second == t; });
    if (it != lines.end())
      it->first += ", " + axes[a];
    else
      lines.push_back({axes[a], t});
  }
  for (auto &[names, t] : lines)
    out.push_back(names + ": " + t);
  if (out.empty())
    out.push_back(axes.empty() ? "replicated: one device" : "replicated: " + text(0));
  return out;
}

llvm::json::Object ShardingAnalysis::toJson(Value v) const {
  llvm::json::Object axesJson;
  if (const ValueSharding *s = lookup(v))
    for (size_t a = 0; a < axes.size(); ++a) {
      const AxisSharding &ax = s->axes[a];
      const Reason &why = s->why[a];
      const char *kind = ax.kind == AxisSharding::Split     ? "split"
                         : ax.kind == AxisSharding::Partial ? "partial"
                         : ax.kind == AxisSharding::Unknown ? "unknown"
                                                            : "replicated";
      llvm::json::Object o{{"sharding", kind}, {"reason", kindWord(why.kind)},
                           {"detail", why.detail}};
      if (ax.kind == AxisSharding::Split)
        o["dim"] = ax.dim;
      if (why.user) {
        o["from_user"] = describe(why.from);
        o["as_operand"] = why.operand;
      } else if (why.operand >= 0) {
        o["from_operand"] = why.operand;
        o["from"] = describe(why.from);
      }
      axesJson[axes[a]] = std::move(o);
    }
  return llvm::json::Object{{"sharding", label(v)}, {"axes", std::move(axesJson)}};
}

std::string mlir::weft::locationString(Location loc) { return locString(loc); }

llvm::json::Object mlir::weft::shardingExplanationJson(func::FuncOp fn,
                                                      const ExplanationExtras &extras) {
  ShardingAnalysis sa(fn);
  Block &block = fn.getBody().front();
  llvm::json::Array args, ops;
  for (BlockArgument arg : fn.getArguments()) {
    llvm::json::Object o = sa.toJson(arg);
    o["arg"] = arg.getArgNumber();
    if (auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), WeftDialect::kInput))
      o["input"] = name.getValue();
    if (auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), WeftDialect::kParam))
      o["param"] = name.getValue();
    args.push_back(std::move(o));
  }
  for (Operation &op : block.without_terminator()) {
    llvm::json::Array results;
    for (Value r : op.getResults())
      results.push_back(sa.toJson(r));
    llvm::json::Object o{{"loc", locString(op.getLoc())},
                         {"op", op.getName().getStringRef()},
                         {"results", std::move(results)}};
    if (extras.json)
      extras.json(&op, o);
    ops.push_back(std::move(o));
  }
  llvm::json::Array axesJson;
  for (const std::string &a : sa.axisNames())
    axesJson.push_back(a);
  return llvm::json::Object{{"function", fn.getName()},
                            {"axes", std::move(axesJson)},
                            {"args", std::move(args)},
                            {"ops", std::move(ops)}};
}

void mlir::weft::printShardingExplanation(func::FuncOp fn, llvm::raw_ostream &os, bool json,
                                          const ExplanationExtras &extras) {
  if (json) {
    os << llvm::formatv("{0:2}", llvm::json::Value(shardingExplanationJson(fn, extras))) << "\n";
    return;
  }
  ShardingAnalysis sa(fn);
  std::string mesh;
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto m = module->getAttrOfType<DictionaryAttr>("weft.mesh"))
      for (const std::string &a : sa.axisNames())
        mesh += (mesh.empty() ? "" : " x ") + a + "=" +
                std::to_string(m.getAs<IntegerAttr>(a).getInt());
  Block &block = fn.getBody().front();
  os << "sharding of @" << fn.getName() << " over "
     << (mesh.empty() ? std::string("one device") : "the mesh " + mesh) << "\n\narguments:\n";
  for (BlockArgument arg : fn.getArguments()) {
    unsigned i = arg.getArgNumber();
    std::string name = "%arg" + std::to_string(i);
    if (auto n = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kInput))
      name += " input '" + n.getValue().str() + "'";
    else if (auto n = fn.getArgAttrOfType<StringAttr>(i, WeftDialect::kParam))
      name += " param '" + n.getValue().str() + "'";
    os << "  " << name << "  " << sa.label(arg) << "\n";
    for (const std::string &line : sa.reasons(arg))
      os << "      " << line << "\n";
  }
  os << "\nops:\n";
  for (Operation &op : block.without_terminator()) {
    if (!op.getNumResults())
      continue;
    os << "  " << locString(op.getLoc()) << "  " << op.getName() << "  ";
    // Several results: one label each.
    SmallVector<std::string> labels;
    for (Value r : op.getResults())
      labels.push_back(sa.label(r));
    os << llvm::join(labels, " | ");
    if (extras.text) {
      std::string note = extras.text(&op);
      if (!note.empty())
        os << "  (" << note << ")";
    }
    os << "\n";
    for (Value r : op.getResults())
      for (const std::string &line : sa.reasons(r))
        os << "      " << (op.getNumResults() > 1 ? "#" + std::to_string(cast<OpResult>(r).getResultNumber()) + " " : "")
           << line << "\n";
  }
}

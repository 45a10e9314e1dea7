//===- StageCut.cpp ------------------------------------------------------===//
#include "compiler/pipeline/StageCut.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/IR/WeftShapes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::weft;

double StageCostModel::time(int64_t flops, int64_t bytes) const {
  return std::max(static_cast<double>(flops) / flopsPerSecond,
                  static_cast<double>(bytes) / bytesPerSecond);
}

double StagePlan::maxTime() const {
  double m = 0;
  for (const Stage &s : stages)
    m = std::max(m, s.time);
  return m;
}

double StagePlan::meanTime() const {
  double sum = 0;
  for (const Stage &s : stages)
    sum += s.time;
  return stages.empty() ? 0 : sum / stages.size();
}

std::vector<int64_t> mlir::weft::balanceCuts(llvm::ArrayRef<double> costs, int64_t stages) {
  const int64_t n = costs.size();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> prefix(n + 1, 0);
  for (int64_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  auto group = [&](int64_t i, int64_t j) { return prefix[j] - prefix[i]; }; // blocks [i, j)

  // Pass 1: best[k][j] = the least bottleneck of blocks [0, j) in k stages.
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, inf));
  best[0][0] = 0;
  for (int64_t k = 1; k <= stages; ++k)
    for (int64_t j = k; j <= n; ++j)
      for (int64_t i = k - 1; i < j; ++i)
        best[k][j] = std::min(best[k][j], std::max(best[k - 1][i], group(i, j)));
  // Pass 2: among cuts whose every stage is within the bottleneck (up to
  // rounding), the least sum of squares; a ragged but equal-max cut loses.
  const double bound = best[stages][n] * (1 + 1e-9) + 1e-300;
  std::vector<std::vector<double>> squares(stages + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int64_t>> from(stages + 1, std::vector<int64_t>(n + 1, -1));
  squares[0][0] = 0;
  for (int64_t k = 1; k <= stages; ++k)
    for (int64_t j = k; j <= n; ++j)
      for (int64_t i = k - 1; i < j; ++i) {
        const double g = group(i, j);
        if (g > bound || squares[k - 1][i] == inf)
          continue;
        // On ties (up to rounding) the earliest start wins: read back from the
        // last stage, later stages take more blocks, and the early ranks,
        // which keep the most microbatches in flight under 1F1B, fewer.
        if (squares[k - 1][i] + g * g < squares[k][j] * (1 - 1e-12)) {
          squares[k][j] = squares[k - 1][i] + g * g;
          from[k][j] = i;
        }
      }
  std::vector<int64_t> starts(stages);
  for (int64_t k = stages, j = n; k >= 1; --k) {
    starts[k - 1] = from[k][j];
    j = from[k][j];
  }
  return starts;
}

std::optional<std::vector<int64_t>>
mlir::weft::parseManualStages(llvm::StringRef spec, int64_t blocks, int64_t stages,
                              std::string &error) {
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',', -1, true);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (llvm::StringRef part : parts) {
    auto [a, b] = part.trim().split('-');
    int64_t first, last;
    if (b.empty() && !part.contains('-'))
      b = a;
    if (a.trim().getAsInteger(10, first) || b.trim().getAsInteger(10, last) || first < 0) {
      error = ("--stages: '" + part + "' is not a block range like 0-3 or 4").str();
      return std::nullopt;
    }
    if (last < first) {
      error = ("--stages: '" + part + "' ends before it starts").str();
      return std::nullopt;
    }
    ranges.push_back({first, last});
  }
  if (static_cast<int64_t>(ranges.size()) != stages) {
    error = "--stages lists " + std::to_string(ranges.size()) + " stages but the pipeline has " +
            std::to_string(stages) + " (pp x virtual stages)";
    return std::nullopt;
  }
  auto range = [](int64_t a, int64_t b) {
    return a == b ? "block " + std::to_string(a)
                  : "blocks " + std::to_string(a) + "-" + std::to_string(b);
  };
  auto inNoStage = [&](int64_t a, int64_t b) {
    return range(a, b) + (a == b ? " is" : " are") + " in no stage";
  };
  // Stage s holds the layers before stage s + 1's: a list out of order is
  // named as such rather than as the gap it leaves at the front.
  for (size_t s = 1; s < ranges.size(); ++s)
    if (ranges[s].first < ranges[s - 1].first) {
      error = "--stages must list the stages in block order: stage " + std::to_string(s) + " (" +
              range(ranges[s].first, ranges[s].second) + ") comes before stage " +
              std::to_string(s - 1) + " (" + range(ranges[s - 1].first, ranges[s - 1].second) +
              ")";
      return std::nullopt;
    }
  std::vector<int64_t> starts;
  int64_t next = 0; // the first block no stage has taken yet
  for (size_t s = 0; s < ranges.size(); ++s) {
    auto [first, last] = ranges[s];
    if (last >= blocks) {
      error = "--stages: stage " + std::to_string(s) + " (" + range(first, last) +
              ") is out of range: the model has " + std::to_string(blocks) + " blocks, 0-" +
              std::to_string(blocks - 1);
      return std::nullopt;
    }
    if (first > next) {
      error = "--stages is not a partition of the blocks: " + inNoStage(next, first - 1) +
              " (a gap before stage " + std::to_string(s) + ")";
      return std::nullopt;
    }
    if (first < next) {
      error = "--stages is not a partition of the blocks: stages " + std::to_string(s - 1) +
              " and " + std::to_string(s) + " overlap at " +
              range(first, std::min(last, next - 1));
      return std::nullopt;
    }
    starts.push_back(first);
    next = last + 1;
  }
  if (next < blocks) {
    error = "--stages is not a partition of the blocks: " + inNoStage(next, blocks - 1) +
            " (a gap after the last stage)";
    return std::nullopt;
  }
  return starts;
}

FailureOr<StagePlan> mlir::weft::cutStages(func::FuncOp forward, int64_t stages,
                                           llvm::StringRef manual, const StageCostModel &model) {
  // Each op's unit: -1 the prologue, i block i, and ops after the last block
  // the epilogue. Untagged ops between blocks stay with the block before them.
  Block &body = forward.getBody().front();
  llvm::SmallVector<std::pair<Operation *, int64_t>> tagged;
  int64_t blocks = 0, current = -1;
  for (Operation &op : body.without_terminator()) {
    if (auto tag = op.getAttrOfType<IntegerAttr>("weft.block")) {
      int64_t b = tag.getInt();
      if (b != current && b != current + 1)
        return op.emitError() << "weft.block " << b << " follows block " << current
                              << ": pipeline stages need the layers' ops in order, each block "
                                 "contiguous and numbered from 0";
      current = b;
      blocks = b + 1;
    }
    tagged.push_back({&op, current});
  }
  if (blocks == 0)
    return forward.emitError() << "pipeline parallelism cuts at layer boundaries, but no op of @"
                               << forward.getSymName() << " has a weft.block tag";
  if (stages > blocks)
    return forward.emitError() << "more pipeline stages (" << stages << ") than layers ("
                               << blocks << " weft.block blocks): each stage needs a layer";
  // The epilogue: the untagged ops after the last tagged one.
  size_t lastTagged = 0;
  for (size_t i = 0; i < tagged.size(); ++i)
    if (tagged[i].first->hasAttr("weft.block"))
      lastTagged = i;

  auto opTime = [&](Operation *op) {
    if (auto cost = llvm::dyn_cast<CostOpInterface>(op))
      return model.time(cost.getFlops(), cost.getBytesAccessed());
    return 0.0;
  };
  // The DP's units are the blocks, the first and last with the prologue and
  // epilogue added: those ops go where those blocks go.
  std::vector<double> blockCost(blocks, 0);
  for (size_t i = 0; i < tagged.size(); ++i)
    blockCost[i > lastTagged ? blocks - 1 : std::max<int64_t>(tagged[i].second, 0)] +=
        opTime(tagged[i].first);

  std::vector<int64_t> starts;
  if (!manual.empty()) {
    std::string error;
    auto parsed = parseManualStages(manual, blocks, stages, error);
    if (!parsed)
      return forward.emitError() << error;
    starts = *parsed;
  } else {
    starts = balanceCuts(blockCost, stages);
  }

  StagePlan plan;
  plan.blocks = blocks;
  plan.stages.resize(stages);
  for (int64_t s = 0; s < stages; ++s) {
    plan.stages[s].firstBlock = starts[s];
    plan.stages[s].lastBlock = s + 1 < stages ? starts[s + 1] - 1 : blocks - 1;
  }
  plan.stages.front().prologue = true;
  plan.stages.back().epilogue = true;
  llvm::DenseMap<Operation *, int64_t> stageOf;
  for (size_t i = 0; i < tagged.size(); ++i) {
    int64_t unit = i > lastTagged ? blocks - 1 : std::max<int64_t>(tagged[i].second, 0);
    int64_t s = std::upper_bound(starts.begin(), starts.end(), unit) - starts.begin() - 1;
    Operation *op = tagged[i].first;
    Stage &stage = plan.stages[s];
    stageOf[op] = s;
    stage.ops.push_back(op);
    if (auto cost = llvm::dyn_cast<CostOpInterface>(op)) {
      stage.flops += cost.getFlops();
      stage.bytes += cost.getBytesAccessed();
    }
    stage.time += opTime(op);
  }
  // Parameters per stage, each once (a tied weight counts on both owners).
  for (Stage &stage : plan.stages) {
    llvm::DenseSet<Value> seen;
    for (Operation *op : stage.ops)
      for (Value v : op->getOperands())
        if (auto arg = llvm::dyn_cast<BlockArgument>(v);
            arg && forward.getArgAttr(arg.getArgNumber(), WeftDialect::kParam) &&
            seen.insert(v).second)
          stage.paramBytes += tensorBytes(v.getType());
  }
  // Activations: a value defined in stage s and used in a later stage is
  // sent forward by s (once, however many stages use it; relaying across
  // stages in between is the outliner's choice).
  for (Stage &stage : plan.stages)
    for (Operation *op : stage.ops)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *user) {
              auto it = stageOf.find(user);
              return it != stageOf.end() && it->second > stageOf[op];
            }))
          stage.sendBytes += tensorBytes(r.getType());
  return plan;
}

LogicalResult mlir::weft::checkMicrobatches(func::FuncOp forward, int64_t microbatches) {
  if (microbatches < 1)
    return forward.emitError() << "--microbatches must be at least 1, got " << microbatches;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    auto name = forward.getArgAttrOfType<StringAttr>(i, WeftDialect::kInput);
    if (!name)
      continue;
    auto type = llvm::cast<RankedTensorType>(forward.getArgumentTypes()[i]);
    if (type.getRank() == 0)
      return forward.emitError() << "--microbatches=" << microbatches << ": input '"
                                 << name.getValue() << "' is a scalar, with no batch to split";
    if (type.getDimSize(0) % microbatches != 0)
      return forward.emitError() << "--microbatches=" << microbatches
                                 << " does not divide the batch: input '" << name.getValue()
                                 << "' has batch " << type.getDimSize(0) << " (dimension 0 of "
                                 << type << ")";
  }
  return success();
}

void mlir::weft::printStagePlan(const StagePlan &plan, int64_t ranks, llvm::raw_ostream &os) {
  os << "pipeline stages: " << plan.stages.size() << " over " << ranks << " ranks, "
     << plan.blocks << " blocks (time = max(FLOPs / 1e12, bytes / 1e11) per op)\n";
  for (size_t s = 0; s < plan.stages.size(); ++s) {
    const Stage &st = plan.stages[s];
    os << "  stage " << s << " (rank " << s % ranks << "): blocks " << st.firstBlock << "-"
       << st.lastBlock;
    if (st.prologue || st.epilogue)
      os << " +" << (st.prologue ? " prologue" : "") << (st.prologue && st.epilogue ? " and" : "")
         << (st.epilogue ? " epilogue" : "");
    os << ", " << st.ops.size() << " ops, " << st.flops << " FLOPs, " << st.bytes << " bytes, "
       << st.paramBytes << " parameter bytes, sends " << st.sendBytes << " bytes, "
       << llvm::format("%.3f us", st.time * 1e6) << "\n";
  }
  os << llvm::format("imbalance (max / mean stage time): %.3f\n", plan.imbalance());
}

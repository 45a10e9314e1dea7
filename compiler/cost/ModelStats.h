//===- ModelStats.h - what a model holds and what a step costs -----------===//
#ifndef WEFT_COMPILER_COST_MODELSTATS_H
#define WEFT_COMPILER_COST_MODELSTATS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace mlir::weft {

struct TensorInfo {
  std::string name;
  std::string type; // as printed, e.g. tensor<8x32xi32>
  int64_t elements = 0;
  int64_t bytes = 0;
};

struct ModelStats {
  std::vector<TensorInfo> inputs, params, outputs;
  std::string loss; // the output marked weft.loss, or empty
  int64_t paramCount = 0, paramBytes = 0;
  int64_t ops = 0;
  int64_t forwardFlops = 0;    // one forward step, global shapes
  int64_t forwardBytes = 0;    // bytes read + written, unfused
};

/// Summarises a verified model's @forward.
ModelStats computeModelStats(func::FuncOp forward);

void printModelStats(const ModelStats &stats, llvm::raw_ostream &os);
llvm::json::Value modelStatsToJson(const ModelStats &stats);

} // namespace mlir::weft

#endif

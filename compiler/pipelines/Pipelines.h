//===- Pipelines.h - Weft's pass pipelines -------------------------------===//
#ifndef WEFT_COMPILER_PIPELINES_PIPELINES_H
#define WEFT_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::weft {

struct WeftPipelineOptions : public PassPipelineOptions<WeftPipelineOptions> {
  PassOptions::Option<int64_t> alignment{
      *this, "alignment", llvm::cl::desc("Byte alignment of arena buffers"),
      llvm::cl::init(64)};
};

/// From a verified model to what the artifact writer takes: fused
/// elementwise regions and a static memory plan. (Training, partitioning and
/// pipelining slot in before the lowering as their issues land.)
void addWeftDefaultPipeline(OpPassManager &pm, const WeftPipelineOptions &options);

/// Registers the pipeline as `weft-default-pipeline` for weft-opt.
void registerWeftPipelines();

} // namespace mlir::weft

#endif

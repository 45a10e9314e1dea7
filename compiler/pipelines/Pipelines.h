//===- Pipelines.h - Weft's pass pipelines -------------------------------===//
#ifndef WEFT_COMPILER_PIPELINES_PIPELINES_H
#define WEFT_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::weft {

struct WeftPipelineOptions : public PassPipelineOptions<WeftPipelineOptions> {
  PassOptions::Option<std::string> train{
      *this, "train", llvm::cl::desc("Build a training step: sgd or adamw; grad returns the gradients instead of applying them (empty: inference)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> dp{*this, "dp",
                                   llvm::cl::desc("Data-parallel devices (batch split)"),
                                   llvm::cl::init(1)};
  PassOptions::Option<int64_t> tp{*this, "tp",
                                   llvm::cl::desc("Tensor-parallel devices (Megatron MLP blocks)"),
                                   llvm::cl::init(1)};
  PassOptions::Option<bool> annotated{
      *this, "annotated",
      llvm::cl::desc("Partition from the model's weft.sharding annotations (weft-partition-annotated) "
                     "instead of the pattern passes"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> zero{*this, "zero",
                                     llvm::cl::desc("ZeRO stage (0 or 1) under data parallelism"),
                                     llvm::cl::init(0)};
  PassOptions::Option<bool> recompute{
      *this, "recompute",
      llvm::cl::desc("Recompute each block in the backward pass instead of saving activations"),
      llvm::cl::init(false)};
  PassOptions::Option<float> lr{*this, "lr", llvm::cl::desc("Learning rate"),
                                llvm::cl::init(1e-3f)};
  PassOptions::Option<float> weightDecay{
      *this, "weight-decay", llvm::cl::desc("Weight decay (-1: the optimizer's default)"),
      llvm::cl::init(-1.0f)};
  PassOptions::Option<float> momentum{*this, "momentum", llvm::cl::desc("SGD momentum"),
                                      llvm::cl::init(0.9f)};
  PassOptions::Option<float> beta1{*this, "beta1", llvm::cl::desc("AdamW beta1"),
                                   llvm::cl::init(0.9f)};
  PassOptions::Option<float> beta2{*this, "beta2", llvm::cl::desc("AdamW beta2"),
                                   llvm::cl::init(0.999f)};
  PassOptions::Option<float> eps{*this, "eps", llvm::cl::desc("AdamW epsilon"),
                                 llvm::cl::init(1e-8f)};
  PassOptions::Option<float> clipNorm{
      *this, "clip-norm", llvm::cl::desc("Clip gradients to this global norm (0: off)"),
      llvm::cl::init(0.0f)};
  PassOptions::Option<int64_t> pp{*this, "pp",
                                   llvm::cl::desc("Pipeline ranks (training; weft-pipeline)"),
                                   llvm::cl::init(1)};
  PassOptions::Option<int64_t> ppRank{*this, "pp-rank",
                                       llvm::cl::desc("The pp rank whose step is built"),
                                       llvm::cl::init(0)};
  PassOptions::Option<int64_t> microbatches{*this, "microbatches",
                                             llvm::cl::desc("Microbatches per batch (pp > 1)"),
                                             llvm::cl::init(1)};
  PassOptions::Option<std::string> schedule{*this, "schedule",
                                             llvm::cl::desc("gpipe, 1f1b or interleaved (pp > 1)"),
                                             llvm::cl::init("1f1b")};
  PassOptions::Option<int64_t> virtualStages{*this, "virtual-stages",
                                              llvm::cl::desc("Model chunks per pp rank"),
                                              llvm::cl::init(1)};
  PassOptions::Option<std::string> stages{*this, "stages",
                                           llvm::cl::desc("Manual stages as weft.block ranges"),
                                           llvm::cl::init("")};
  PassOptions::Option<bool> gemmEpilogues{
      *this, "gemm-epilogues",
      llvm::cl::desc("Fold fused ops that cuBLASLt epilogues compute into their matmul "
                     "(weftc --target=cuda)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> alignment{
      *this, "alignment", llvm::cl::desc("Byte alignment of arena buffers"),
      llvm::cl::init(64)};
};

/// From a verified model to what the artifact writer takes: with `train`,
/// autodiff and the optimizer build @train_step; then fused elementwise
/// regions and a static memory plan. (Partitioning and pipelining slot in
/// before the lowering as their issues land.)
void addWeftDefaultPipeline(OpPassManager &pm, const WeftPipelineOptions &options);

/// The first part of the default pipeline: verify, then split @forward over
/// the mesh (dp, tp). `weftc --explain` stops here.
void addWeftPartitionPipeline(OpPassManager &pm, const WeftPipelineOptions &options);

/// Registers the pipeline as `weft-default-pipeline` for weft-opt.
void registerWeftPipelines();

} // namespace mlir::weft

#endif

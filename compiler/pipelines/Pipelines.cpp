//===- Pipelines.cpp -----------------------------------------------------===//
#include "compiler/pipelines/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

static void addPartitionAnnotated(OpPassManager &pm, const weft::WeftPipelineOptions &options) {
  weft::PartitionAnnotatedPassOptions partition;
  partition.dp = options.dp;
  partition.tp = options.tp;
  pm.addPass(weft::createPartitionAnnotatedPass(partition));
}

void mlir::weft::addWeftPartitionPipeline(OpPassManager &pm,
                                          const WeftPipelineOptions &options) {
  pm.addPass(createVerifyModelPass());
  if (options.annotated) {
    // User annotations: the whole step is partitioned at once, after autodiff
    // and the optimizer when training (addWeftDefaultPipeline).
    if (options.train.empty())
      addPartitionAnnotated(pm, options);
  } else if (options.dp * (options.pp > 1 ? options.microbatches : 1) > 1) {
    // Under pp the batch is split once more, into microbatches: @forward
    // becomes one microbatch's step on one device (weft-pipeline unrolls M).
    PartitionBatchPassOptions partition;
    partition.dp = options.dp;
    partition.microbatches = options.pp > 1 ? options.microbatches : 1;
    pm.addPass(createPartitionBatchPass(partition));
  }
  if (options.tp > 1 && !options.annotated) {
    PartitionTensorPassOptions partition;
    partition.tp = options.tp;
    pm.addPass(createPartitionTensorPass(partition));
  }
  // weft.reshard ops, if any, become collectives; when training, after
  // autodiff, which differentiates weft.reshard itself.
  if (options.train.empty())
    pm.addPass(createReshardPass());
}

void mlir::weft::addWeftDefaultPipeline(OpPassManager &pm,
                                        const WeftPipelineOptions &options) {
  addWeftPartitionPipeline(pm, options);
  if (!options.train.empty() && options.pp > 1) {
    PipelinePassOptions pipeline;
    pipeline.pp = options.pp;
    pipeline.rank = options.ppRank;
    pipeline.microbatches = options.microbatches;
    pipeline.schedule = options.schedule;
    pipeline.virtualStages = options.virtualStages;
    pipeline.stages = options.stages;
    pipeline.recompute = options.recompute;
    pm.addPass(createPipelinePass(pipeline));
    pm.addPass(createInlineStagesPass());
  } else if (!options.train.empty()) {
    AutodiffPassOptions autodiff;
    autodiff.recompute = options.recompute;
    pm.addPass(createAutodiffPass(autodiff));
  }
  if (options.dp > 1 && !options.annotated) {
    SyncGradientsPassOptions sync;
    sync.zero = options.zero;
    pm.addPass(createSyncGradientsPass(sync));
  }
  if (!options.train.empty() && options.train != "grad") {
    OptimizerPassOptions opt;
    opt.kind = options.train;
    opt.lr = options.lr;
    opt.weightDecay = options.weightDecay;
    opt.momentum = options.momentum;
    opt.beta1 = options.beta1;
    opt.beta2 = options.beta2;
    opt.eps = options.eps;
    opt.clipNorm = options.clipNorm;
    opt.zero = options.dp > 1 ? options.zero : 0;
    pm.addPass(createOptimizerPass(opt));
  }
  if (options.annotated && !options.train.empty())
    addPartitionAnnotated(pm, options);
  if (!options.train.empty())
    pm.addPass(createReshardPass());
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createLowerTpGatherPass()); // after autodiff, which needs its gradient rule
  fn.addPass(createCSEPass());
  fn.addPass(createFuseElementwisePass());
  if (options.gemmEpilogues)
    fn.addPass(createFoldGemmEpiloguePass());
  PlanMemoryPassOptions plan;
  plan.alignment = options.alignment;
  fn.addPass(createPlanMemoryPass(plan));
}

void mlir::weft::registerWeftPipelines() {
  PassPipelineRegistration<WeftPipelineOptions>(
      "weft-default-pipeline",
      "Lowers a verified Weft model to fused kernels and a memory plan",
      addWeftDefaultPipeline);
}

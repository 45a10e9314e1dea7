//===- Pipelines.cpp -----------------------------------------------------===//
#include "compiler/pipelines/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::weft::addWeftPartitionPipeline(OpPassManager &pm,
                                          const WeftPipelineOptions &options) {
  pm.addPass(createVerifyModelPass());
  if (options.dp > 1) {
    PartitionBatchPassOptions partition;
    partition.dp = options.dp;
    pm.addPass(createPartitionBatchPass(partition));
  }
  if (options.tp > 1) {
    PartitionTensorPassOptions partition;
    partition.tp = options.tp;
    pm.addPass(createPartitionTensorPass(partition));
  }
  pm.addPass(createReshardPass()); // weft.reshard ops, if any, become collectives
}

void mlir::weft::addWeftDefaultPipeline(OpPassManager &pm,
                                        const WeftPipelineOptions &options) {
  addWeftPartitionPipeline(pm, options);
  if (!options.train.empty()) {
    AutodiffPassOptions autodiff;
    autodiff.recompute = options.recompute;
    pm.addPass(createAutodiffPass(autodiff));
  }
  if (options.dp > 1) {
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
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createLowerTpGatherPass()); // after autodiff, which needs its gradient rule
  fn.addPass(createCSEPass());
  fn.addPass(createFuseElementwisePass());
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

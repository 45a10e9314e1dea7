//===- Pipelines.cpp -----------------------------------------------------===//
#include "compiler/pipelines/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::weft::addWeftDefaultPipeline(OpPassManager &pm,
                                        const WeftPipelineOptions &options) {
  pm.addPass(createVerifyModelPass());
  OpPassManager &fn = pm.nest<func::FuncOp>();
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

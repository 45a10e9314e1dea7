//===- Registration.cpp --------------------------------------------------===//
#include "compiler/pipelines/Registration.h"
#include "compiler/pipelines/Pipelines.h"
#include "dialects/weft/IR/WeftDialect.h"
#include "dialects/weft/Interfaces/ShardingInterfaceImpl.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/ShardingExtensions.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Extensions/ShardingExtensions.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/Passes.h"

void mlir::weft::registerWeftDialects(DialectRegistry &registry) {
  registry.insert<WeftDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect, shard::ShardDialect>();
  func::registerShardingInterfaceExternalModels(registry);
  tensor::registerShardingInterfaceExternalModels(registry);
  weft::registerShardingInterfaceExternalModels(registry);
}

void mlir::weft::registerAllWeftPasses() {
  registerTransformsPasses();
  shard::registerShardPasses();
  weft::registerWeftPasses();
  weft::registerWeftPipelines();
}

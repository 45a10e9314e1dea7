//===- ShardingInterfaceImpl.cpp - every weft op under upstream shard ----===//
//
// Attaches one external model per op family (one file each; the shared loop
// nest machinery is in LoopShardingModel.h). weft.fused and weft.yield have
// none: fused regions are built by lowering, after partitioning, and yield is
// a terminator, which sharding-propagation skips.
// tests/unit/ShardingInterfaceTest.cpp fails when an op is added without one.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/Interfaces/ShardingInterfaceImpl.h"
#include "dialects/weft/Interfaces/LoopShardingModel.h"

using namespace mlir;
using namespace mlir::weft;

void mlir::weft::registerShardingInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, WeftDialect *) {
    sharding::attachElementwiseShardingModels(ctx);
    sharding::attachContractionShardingModels(ctx);
    sharding::attachReductionShardingModels(ctx);
    sharding::attachLayoutShardingModels(ctx);
    sharding::attachOptimizerShardingModels(ctx);
    sharding::attachConstantShardingModel(ctx);
  });
}

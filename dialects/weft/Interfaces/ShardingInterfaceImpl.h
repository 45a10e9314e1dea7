//===- ShardingInterfaceImpl.h - weft ops under upstream shard -----------===//
#ifndef WEFT_DIALECTS_WEFT_INTERFACES_SHARDINGINTERFACEIMPL_H
#define WEFT_DIALECTS_WEFT_INTERFACES_SHARDINGINTERFACEIMPL_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::weft {

/// Attaches upstream's ShardingInterface to every weft op but weft.fused and
/// weft.yield, so that `sharding-propagation` and `shard-partition` work on
/// whole models, forward, gradient and optimizer ops alike.
void registerShardingInterfaceExternalModels(DialectRegistry &registry);

} // namespace mlir::weft

#endif

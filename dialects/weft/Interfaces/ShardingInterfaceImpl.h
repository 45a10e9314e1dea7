//===- ShardingInterfaceImpl.h - weft ops under upstream shard -----------===//
#ifndef WEFT_DIALECTS_WEFT_INTERFACES_SHARDINGINTERFACEIMPL_H
#define WEFT_DIALECTS_WEFT_INTERFACES_SHARDINGINTERFACEIMPL_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::weft {

/// Attaches upstream's ShardingInterface to the weft ops that have a model
/// so far (every elementwise op, and matmul), so that `sharding-propagation`
/// and `shard-partition` work on them. The groundwork of tensor parallelism.
void registerShardingInterfaceExternalModels(DialectRegistry &registry);

} // namespace mlir::weft

#endif

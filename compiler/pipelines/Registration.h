//===- Registration.h - everything a Weft tool registers -----------------===//
#ifndef WEFT_COMPILER_PIPELINES_REGISTRATION_H
#define WEFT_COMPILER_PIPELINES_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::weft {

/// The dialects Weft reads and writes (weft, func, arith, tensor, shard) and
/// the sharding-interface models upstream provides for func and tensor.
void registerWeftDialects(DialectRegistry &registry);

/// Weft's passes, upstream's shard passes and the core transforms
/// (canonicalize, cse, inline, ...), for weft-opt.
void registerAllWeftPasses();

} // namespace mlir::weft

#endif

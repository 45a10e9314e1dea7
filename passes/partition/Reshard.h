//===- Reshard.h - the cheapest collectives between two shardings --------===//
//
// A sharding of a tensor on the grid gives each mesh axis one of: replicated
// (R), split along tensor dimension k (Sk), or partial (P: the devices along
// that axis hold addends of the value). planReshard finds the cheapest
// sequence of collectives that turns one sharding into another, and
// emitReshard writes it as upstream `shard` ops.
//
// The cost is the bytes each device sends, in the ring model: all-gather
// (n-1)/n of the gathered block, reduce-scatter (n-1)/n of the block it
// reduces, all-reduce twice that, all-to-all (n-1)/n of the local block,
// all-slice nothing. The states are the shardings of the tensor (a few dozen
// on a 2-D grid), the collectives their edges, and Dijkstra's shortest path
// the plan: it finds reduce-scatter + all-gather where that beats an
// all-reduce on a 2-D grid, and an all-to-all where gather + slice costs more.
//
// Why not upstream's resharding (mlir/Dialect/Shard/Transforms/Partition.h,
// shard::reshard, used by shard-partition): in MLIR 22 it handles 1-D grids
// only (it asserts otherwise), tries one pattern (move, split or unsplit the
// last split axis) for one step and asserts when none applies, so it cannot
// chain steps; its sharding attribute has no partial axes any more, so
// pending sums (Megatron's row-parallel output, gradients) cannot be named;
// and it has no cost, so it cannot choose reduce-scatter over all-reduce.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_PARTITION_RESHARD_H
#define WEFT_PASSES_PARTITION_RESHARD_H

#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace mlir::weft::reshard {

struct Sharding {
  /// split[d]: the mesh axes that split tensor dimension d, major first (the
  /// block index along d is row-major over these axes' coordinates).
  std::vector<std::vector<int64_t>> split;
  /// The mesh axes whose devices hold addends of the value, ascending.
  std::vector<int64_t> partial;

  /// One entry per mesh axis, comma separated: R, P or S<dim>, e.g. "P,S1".
  /// Two axes splitting one dimension split it in mesh-axis order (the lower
  /// axis major), as the ranks are numbered.
  static llvm::Expected<Sharding> parse(llvm::StringRef text, int64_t gridRank,
                                        int64_t tensorRank);
  /// The same notation; a dimension split in another order gets "{axes}".
  std::string str(int64_t gridRank) const;
  bool operator==(const Sharding &o) const { return split == o.split && partial == o.partial; }
  bool operator<(const Sharding &o) const {
    return split != o.split ? split < o.split : partial < o.partial;
  }
};

enum class Kind { AllReduce, AllGather, AllSlice, ReduceScatter, AllToAll };
llvm::StringRef kindName(Kind kind);

struct Step {
  Kind kind;
  int64_t gridAxis;
  /// all_gather: gather_axis; all_slice: slice_axis; reduce_scatter:
  /// scatter_axis; all_to_all: split_axis (the dimension it splits).
  int64_t dim = -1;
  /// all_to_all: concat_axis (the dimension it gathers).
  int64_t concatDim = -1;
  double bytes = 0;  // sent per device
  Sharding after;
};

struct Plan {
  std::vector<Step> steps;
  double bytes = 0;  // sent per device, all steps
};

/// Each device's block of `global` under `sharding`; an error names the
/// dimension a split does not divide.
llvm::Expected<std::vector<int64_t>> localShape(llvm::ArrayRef<int64_t> global,
                                                llvm::ArrayRef<int64_t> grid,
                                                const Sharding &sharding);

/// The cheapest plan (fewest steps among equal costs) from `from` to `to`.
llvm::Expected<Plan> planReshard(llvm::ArrayRef<int64_t> global, int64_t elementBytes,
                                 llvm::ArrayRef<int64_t> grid, const Sharding &from,
                                 const Sharding &to);

/// Emits `plan` on `local` (the block under `from`) as shard ops on the grid
/// named `grid`; returns the block under the plan's target.
Value emitReshard(OpBuilder &b, Location loc, Value local, llvm::StringRef grid,
                  const Plan &plan, llvm::ArrayRef<int64_t> global,
                  llvm::ArrayRef<int64_t> gridShape);

} // namespace mlir::weft::reshard

#endif // WEFT_PASSES_PARTITION_RESHARD_H

//===- Reshard.cpp - the cheapest collectives between two shardings ------===//
#include "passes/partition/Reshard.h"

#include <algorithm>
#include <map>
#include <queue>
#include <tuple>

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::weft::reshard;

namespace {

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

// The mesh axis's role: -2 replicated, -1 partial, k >= 0 split on dim k.
int64_t roleOf(const Sharding &s, int64_t axis) {
  if (llvm::is_contained(s.partial, axis))
    return -1;
  for (auto [d, axes] : llvm::enumerate(s.split))
    if (llvm::is_contained(axes, axis))
      return d;
  return -2;
}

// Devices that share one block along dim d.
int64_t parts(const std::vector<int64_t> &axes, llvm::ArrayRef<int64_t> grid) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= grid[a];
  return n;
}

} // namespace

llvm::StringRef mlir::weft::reshard::kindName(Kind kind) {
  switch (kind) {
  case Kind::AllReduce: return "all_reduce";
  case Kind::AllGather: return "all_gather";
  case Kind::AllSlice: return "all_slice";
  case Kind::ReduceScatter: return "reduce_scatter";
  case Kind::AllToAll: return "all_to_all";
  }
  return "?";
}

llvm::Expected<Sharding> Sharding::parse(llvm::StringRef text, int64_t gridRank,
                                         int64_t tensorRank) {
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',');
  if (static_cast<int64_t>(items.size()) != gridRank)
    return error("sharding '" + text + "' names " + llvm::Twine(items.size()) +
                 " mesh axes; the grid has " + llvm::Twine(gridRank));
  Sharding s;
  s.split.resize(tensorRank);
  for (auto [axis, item] : llvm::enumerate(items)) {
    llvm::StringRef t = item.trim();
    if (t == "R")
      continue;
    if (t == "P") {
      s.partial.push_back(axis);
      continue;
    }
    int64_t dim;
    if (!t.consume_front("S") || t.getAsInteger(10, dim) || dim < 0 || dim >= tensorRank)
      return error("sharding '" + text + "': mesh axis " + llvm::Twine(axis) + " is '" +
                   item.trim() + "'; expected R, P or S<dim> with dim below " +
                   llvm::Twine(tensorRank));
    s.split[dim].push_back(axis);
  }
  return s;
}

std::string Sharding::str(int64_t gridRank) const {
  std::string out;
  for (int64_t a = 0; a < gridRank; ++a) {
    int64_t role = roleOf(*this, a);
    out += a ? "," : "";
    out += role == -2 ? "R" : role == -1 ? "P" : "S" + std::to_string(role);
  }
  for (auto [d, axes] : llvm::enumerate(split))
    if (!std::is_sorted(axes.begin(), axes.end()))
      out += " {dim " + std::to_string(d) + " over axes " +
             llvm::join(llvm::map_range(axes, [](int64_t a) { return std::to_string(a); }), ",") +
             "}";
  return out;
}

llvm::Expected<std::vector<int64_t>>
mlir::weft::reshard::localShape(llvm::ArrayRef<int64_t> global, llvm::ArrayRef<int64_t> grid,
                                const Sharding &sharding) {
  std::vector<int64_t> local(global.begin(), global.end());
  for (auto [d, axes] : llvm::enumerate(sharding.split)) {
    int64_t n = parts(axes, grid);
    if (global[d] % n)
      return error("sharding " + sharding.str(grid.size()) + " splits dimension " +
                   llvm::Twine(d) + " (size " + llvm::Twine(global[d]) + ") into " +
                   llvm::Twine(n) + " blocks, which does not divide it");
    local[d] /= n;
  }
  return local;
}

llvm::Expected<Plan> mlir::weft::reshard::planReshard(llvm::ArrayRef<int64_t> global,
                                                      int64_t elementBytes,
                                                      llvm::ArrayRef<int64_t> grid,
                                                      const Sharding &from, const Sharding &to) {
  const int64_t gridRank = grid.size(), rank = global.size();
  for (const Sharding *s : {&from, &to}) {
    if (static_cast<int64_t>(s->split.size()) != rank)
      return error("sharding " + s->str(gridRank) + " is for a tensor of rank " +
                   llvm::Twine(s->split.size()) + ", not " + llvm::Twine(rank));
    if (auto local = localShape(global, grid, *s); !local)
      return local.takeError();
  }

  // The edges out of a state: every collective that keeps blocks whole.
  auto neighbours = [&](const Sharding &s) {
    std::vector<Step> out;
    std::vector<int64_t> local = cantFail(localShape(global, grid, s));
    double bytes = elementBytes;
    for (int64_t d : local)
      bytes *= d;
    for (int64_t a = 0; a < gridRank; ++a) {
      const int64_t n = grid[a];
      const double share = static_cast<double>(n - 1) / n;
      const int64_t role = roleOf(s, a);
      if (role == -1) {  // a pending sum: all-reduce, or reduce-scatter on any dim
        Step ar{Kind::AllReduce, a, -1, -1, 2 * share * bytes, s};
        llvm::erase(ar.after.partial, a);
        out.push_back(ar);
        for (int64_t d = 0; d < rank; ++d) {
          if (local[d] % n)
            continue;
          Step rs{Kind::ReduceScatter, a, d, -1, share * bytes, s};
          llvm::erase(rs.after.partial, a);
          rs.after.split[d].push_back(a);
          out.push_back(rs);
        }
      } else if (role == -2) {  // replicated: slice any dim, for free
        for (int64_t d = 0; d < rank; ++d) {
          if (local[d] % n)
            continue;
          Step sl{Kind::AllSlice, a, d, -1, 0, s};
          sl.after.split[d].push_back(a);
          out.push_back(sl);
        }
      } else if (s.split[role].back() == a) {
        // The minor split of its dim: gather it back, or move it to another
        // dim with an all-to-all.
        Step ag{Kind::AllGather, a, role, -1, share * bytes * n, s};
        ag.after.split[role].pop_back();
        out.push_back(ag);
        for (int64_t d = 0; d < rank; ++d) {
          if (d == role || local[d] % n)
            continue;
          Step aa{Kind::AllToAll, a, d, role, share * bytes, s};
          aa.after.split[role].pop_back();
          aa.after.split[d].push_back(a);
          out.push_back(aa);
        }
      }
    }
    return out;
  };

  // Dijkstra; among equal costs the fewest steps, then the first found.
  struct Best {
    double bytes;
    size_t steps;
    Sharding prev;
    Step step;
  };
  std::map<Sharding, Best> best;
  using Item = std::tuple<double, size_t, size_t, Sharding>;
  auto later = [](const Item &x, const Item &y) {
    return std::tie(std::get<0>(x), std::get<1>(x), std::get<2>(x)) >
           std::tie(std::get<0>(y), std::get<1>(y), std::get<2>(y));
  };
  std::priority_queue<Item, std::vector<Item>, decltype(later)> queue(later);
  size_t order = 0;
  best.emplace(from, Best{0, 0, from, Step{}});
  queue.emplace(0.0, 0, order++, from);
  std::map<Sharding, bool> done;
  while (!queue.empty()) {
    auto [bytes, steps, _, s] = queue.top();
    queue.pop();
    if (done[s])
      continue;
    done[s] = true;
    if (s == to)
      break;
    for (Step &e : neighbours(s)) {
      double nb = bytes + e.bytes;
      auto it = best.find(e.after);
      // Costs are sums of a few exact fractions; compare with a tolerance.
      if (it != best.end() &&
          (nb > it->second.bytes + 1e-9 ||
           (nb > it->second.bytes - 1e-9 && steps + 1 >= it->second.steps)))
        continue;
      Sharding next = e.after;
      best[next] = Best{nb, steps + 1, s, e};
      queue.emplace(nb, steps + 1, order++, next);
    }
  }
  auto it = best.find(to);
  if (it == best.end())
    return error("no collective sequence turns " + from.str(gridRank) + " into " +
                 to.str(gridRank) + (to.partial.empty()
                                         ? ""
                                         : " (collectives never create a partial sum)"));
  Plan plan;
  plan.bytes = it->second.bytes;
  for (Sharding s = to; !(s == from); s = best.at(s).prev)
    plan.steps.push_back(best.at(s).step);
  std::reverse(plan.steps.begin(), plan.steps.end());
  return plan;
}

Value mlir::weft::reshard::emitReshard(OpBuilder &b, Location loc, Value local,
                                       llvm::StringRef grid, const Plan &plan,
                                       llvm::ArrayRef<int64_t> global,
                                       llvm::ArrayRef<int64_t> gridShape) {
  Type element = cast<RankedTensorType>(local.getType()).getElementType();
  for (const Step &step : plan.steps) {
    auto type = RankedTensorType::get(cantFail(localShape(global, gridShape, step.after)), element);
    llvm::SmallVector<shard::GridAxis> axes{static_cast<shard::GridAxis>(step.gridAxis)};
    llvm::APInt dim(64, step.dim);
    switch (step.kind) {
    case Kind::AllReduce:
      local = shard::AllReduceOp::create(b, loc, local, grid, axes, shard::ReductionKind::Sum);
      break;
    case Kind::AllGather:
      local = shard::AllGatherOp::create(b, loc, type, grid, axes, local, dim);
      break;
    case Kind::AllSlice:
      local = shard::AllSliceOp::create(b, loc, type, local, grid, axes, step.dim);
      break;
    case Kind::ReduceScatter:
      local = shard::ReduceScatterOp::create(b, loc, type, grid, axes, local,
                                             shard::ReductionKind::Sum, dim);
      break;
    case Kind::AllToAll:
      local = shard::AllToAllOp::create(b, loc, type, grid, axes, local, dim,
                                        llvm::APInt(64, step.concatDim));
      break;
    }
  }
  return local;
}

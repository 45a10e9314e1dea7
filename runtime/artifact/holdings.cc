#include "runtime/artifact/holdings.h"

#include "runtime/artifact/format.h"
#include "weft/tensor.h"

namespace weft::artifact {

int64_t AxisSize(const fb::Artifact &a, const char *name) {
  if (a.mesh())
    for (const fb::MeshAxis *m : *a.mesh())
      if (m->name()->str() == name) return m->size();
  return 1;
}

int AxisCoord(const fb::Artifact &a, int rank, const char *name) {
  if (a.mesh() == nullptr) return 0;
  int64_t stride = 1;  // row-major: the last axis innermost
  for (int k = static_cast<int>(a.mesh()->size()) - 1; k >= 0; --k) {
    const fb::MeshAxis *m = a.mesh()->Get(k);
    if (m->name()->str() == name) return static_cast<int>(rank / stride % m->size());
    stride *= m->size();
  }
  return 0;
}

bool Holds(const fb::Artifact &a, int rank, size_t i, bool is_state) {
  const fb::RankProgram &prog = *a.ranks()->Get(rank);
  return (is_state ? prog.states() : prog.params())->Get(i) != kAbsent;
}

std::vector<int64_t> LocalShape(const fb::Artifact &a, const fb::ParamSpec &spec, bool is_state) {
  const auto *s = spec.tensor()->shape();
  std::vector<int64_t> shape(s->begin(), s->end());
  if (spec.split_dim() >= 0) shape[spec.split_dim()] /= AxisSize(a, "tp");  // the tp slice
  if (is_state && spec.split()) {  // ZeRO-1: its contiguous 1/dp of that, flattened
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    shape = {n / AxisSize(a, "dp")};
  }
  return shape;
}

int64_t HeldBytes(const fb::Artifact &a, int rank, bool is_state) {
  const auto *specs = is_state ? a.states() : a.params();
  int64_t bytes = 0;
  for (unsigned i = 0; specs && i < specs->size(); ++i) {
    if (!Holds(a, rank, i, is_state)) continue;
    int64_t n = DTypeSize(static_cast<DType>(specs->Get(i)->tensor()->dtype()));
    for (int64_t d : LocalShape(a, *specs->Get(i), is_state)) n *= d;
    bytes += n;
  }
  return bytes;
}

}  // namespace weft::artifact

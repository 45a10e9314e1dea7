#include "runtime/artifact/reader.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/artifact/format.h"
#include "runtime/artifact/gemm_epilogue.h"
#include "runtime/artifact/precision.h"
#include "weft/tensor.h"

namespace weft::artifact {
namespace {

using absl::StrCat;

absl::Status Bad(const std::string &name, const std::string &what) {
  return absl::DataLossError(StrCat(name, ": invalid artifact: ", what));
}

bool ValidDType(fb::DType d) { return static_cast<int>(d) <= static_cast<int>(fb::DType::I64); }

// Elements of a shape, or -1 when a dimension is negative or the count
// overflows what any real buffer could hold.
int64_t NumElements(const flatbuffers::Vector<int64_t> *shape) {
  if (shape == nullptr) return -1;
  int64_t n = 1;
  for (int64_t d : *shape) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 40) / d)) return -1;
    n *= d;
  }
  return n;
}

size_t ElementSize(fb::DType d) { return DTypeSize(static_cast<DType>(d)); }

// The product of sizes read from the file, or -1 when one is negative or the
// product overflows: corrupted integers must not wrap around into a match.
int64_t Prod(std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs)
    if (x < 0 || __builtin_mul_overflow(p, x, &p)) return -1;
  return p;
}

// Checks one rank's program against the artifact's interface. `v` is the
// value table; everything the executor dereferences is range-checked.
class RankChecker {
 public:
  RankChecker(const fb::Artifact &a, const fb::RankProgram &r, const std::string &name)
      : a_(a), r_(r), name_(name),
        bf16_(a.precision() && a.precision()->string_view() == kPrecisionBf16) {}

  // Ranks along mesh axis k (a collective's grid axis); -1 when there is no
  // such axis. With no mesh, axis 0 is the one rank.
  int64_t AxisSize(int64_t k) const {
    if (a_.mesh() == nullptr || a_.mesh()->size() == 0) return k == 0 ? 1 : -1;
    if (k < 0 || k >= static_cast<int64_t>(a_.mesh()->size())) return -1;
    return a_.mesh()->Get(k)->size();
  }
  // Ranks along the named axis (inputs and ZeRO state split over dp,
  // parameters over tp); 1 when the mesh lacks it.
  int64_t Named(const char *axis) const {
    if (a_.mesh())
      for (const fb::MeshAxis *m : *a_.mesh())
        if (m->name() && m->name()->str() == axis) return m->size();
    return 1;
  }

  absl::Status Check() {
    if (r_.values() == nullptr || r_.instructions() == nullptr || r_.inputs() == nullptr ||
        r_.params() == nullptr || r_.outputs() == nullptr)
      return Bad(name_, "a rank program lacks its values, interface or instructions");
    const auto &values = *r_.values();
    for (unsigned i = 0; i < values.size(); ++i) {
      if (absl::Status s = CheckValue(i, *values[i]); !s.ok()) return s;
    }
    if (absl::Status s = CheckInterface(); !s.ok()) return s;
    for (unsigned i = 0; i < r_.instructions()->size(); ++i) {
      const fb::Instruction *in = r_.instructions()->Get(i);
      if (absl::Status s = CheckInstruction(*in); !s.ok())
        return Bad(name_, StrCat("instruction #", i, " (",
                                 in->name() ? in->name()->str() : "?", "): ", s.message()));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status CheckValue(unsigned i, const fb::ValueDesc &v) {
    if (!ValidDType(v.dtype())) return Bad(name_, StrCat("value #", i, " has an unknown dtype"));
    int64_t n = NumElements(v.shape());
    if (n < 0) return Bad(name_, StrCat("value #", i, " has a bad shape"));
    uint64_t bytes = n * ElementSize(v.dtype());
    switch (v.storage()) {
      case fb::Storage::Input:
        if (a_.inputs() == nullptr || v.index() >= a_.inputs()->size())
          return Bad(name_, StrCat("value #", i, " names input ", v.index(), " of ",
                                   a_.inputs() ? a_.inputs()->size() : 0));
        break;
      case fb::Storage::Param:
        if (a_.params() == nullptr || v.index() >= a_.params()->size())
          return Bad(name_, StrCat("value #", i, " names parameter ", v.index()));
        if (Absent(r_.params(), v.index()))
          return Bad(name_, StrCat("value #", i, " views parameter ", v.index(),
                                   ", which this rank does not hold"));
        break;
      case fb::Storage::State:
        if (a_.states() == nullptr || v.index() >= a_.states()->size())
          return Bad(name_, StrCat("value #", i, " names state ", v.index()));
        if (Absent(r_.states(), v.index()))
          return Bad(name_, StrCat("value #", i, " views optimizer state ", v.index(),
                                   ", which this rank does not hold"));
        break;
      case fb::Storage::Constant: {
        if (a_.constants() == nullptr || v.index() >= a_.constants()->size())
          return Bad(name_, StrCat("value #", i, " names constant ", v.index()));
        const fb::ConstantData *c = a_.constants()->Get(v.index());
        if (c->data() == nullptr || c->data()->size() < bytes)
          return Bad(name_, StrCat("constant ", v.index(), " holds fewer than ", bytes, " bytes"));
        break;
      }
      case fb::Storage::Output:
        if (a_.outputs() == nullptr || v.index() >= a_.outputs()->size())
          return Bad(name_, StrCat("value #", i, " names output ", v.index()));
        break;
      case fb::Storage::Arena:
        if (v.index() > r_.arena_bytes() || bytes > r_.arena_bytes() - v.index())
          return Bad(name_, StrCat("value #", i, " at arena offset ", v.index(), " (", bytes,
                                   " bytes) overruns the arena of ", r_.arena_bytes(), " bytes"));
        if (v.index() % 16 != 0)
          return Bad(name_, StrCat("value #", i, " is misaligned in the arena"));
        break;
      default:
        return Bad(name_, StrCat("value #", i, " has an unknown storage"));
    }
    // Views of inputs, parameters and states may reshape, not grow.
    if (v.storage() == fb::Storage::Input || v.storage() == fb::Storage::Param ||
        v.storage() == fb::Storage::State) {
      const fb::TensorSpec *t = v.storage() == fb::Storage::Input
                                    ? a_.inputs()->Get(v.index())->tensor()
                                : v.storage() == fb::Storage::Param
                                    ? a_.params()->Get(v.index())->tensor()
                                    : a_.states()->Get(v.index())->tensor();
      int64_t whole = t ? NumElements(t->shape()) : -1;
      // A split input or ZeRO state: each rank sees 1/dp of it; a split
      // parameter or its state, 1/tp; ZeRO state of a split parameter, both.
      int64_t ranks = 1;
      if ((v.storage() == fb::Storage::Input && a_.inputs()->Get(v.index())->split()) ||
          (v.storage() == fb::Storage::State && a_.states()->Get(v.index())->split()))
        ranks *= Named("dp");
      if ((v.storage() == fb::Storage::Param && a_.params()->Get(v.index())->split_dim() >= 0) ||
          (v.storage() == fb::Storage::State && a_.states()->Get(v.index())->split_dim() >= 0))
        ranks *= Named("tp");
      if (ranks < 1) return Bad(name_, "a mesh axis has no ranks");
      whole = whole % ranks == 0 ? whole / ranks : -1;
      if (t == nullptr || whole != n || t->dtype() != v.dtype())
        return Bad(name_, StrCat("value #", i, " does not match the tensor it views"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckSpec(const fb::TensorSpec *t, const char *what, unsigned i) {
    if (t == nullptr || t->name() == nullptr || !ValidDType(t->dtype()) ||
        NumElements(t->shape()) < 0)
      return Bad(name_, StrCat(what, " #", i, " has a bad name, dtype or shape"));
    return absl::OkStatus();
  }

  absl::Status CheckInterface() {
    if (a_.inputs() == nullptr || a_.params() == nullptr || a_.outputs() == nullptr)
      return Bad(name_, "the interface (inputs, parameters, outputs) is missing");
    auto check = [&](const flatbuffers::Vector<uint32_t> &ids, size_t expected, const char *what,
                     fb::Storage storage) -> absl::Status {
      if (ids.size() != expected)
        return Bad(name_, StrCat("the rank maps ", ids.size(), " ", what, "s, the artifact has ",
                                 expected));
      for (unsigned i = 0; i < ids.size(); ++i) {
        // A pipeline stage does not hold the other stages' parameters.
        if (ids[i] == kAbsent && (storage == fb::Storage::Param || storage == fb::Storage::State))
          continue;
        if (ids[i] >= r_.values()->size())
          return Bad(name_, StrCat(what, " #", i, " maps to a missing value"));
        const fb::ValueDesc *v = r_.values()->Get(ids[i]);
        if (storage != fb::Storage::Arena && (v->storage() != storage || v->index() != i))
          return Bad(name_, StrCat(what, " #", i, " maps to the wrong value"));
      }
      return absl::OkStatus();
    };
    for (unsigned i = 0; i < a_.inputs()->size(); ++i)
      if (auto s = CheckSpec(a_.inputs()->Get(i)->tensor(), "input", i); !s.ok()) return s;
    for (const auto *list : {a_.params(), a_.states()}) {
      if (list == nullptr) continue;
      for (unsigned i = 0; i < list->size(); ++i) {
        const fb::ParamSpec *p = list->Get(i);
        if (auto s = CheckSpec(p->tensor(), "parameter", i); !s.ok()) return s;
        const int dim = p->split_dim();
        const int64_t ranks = Named("tp");
        if (dim >= 0 && (dim >= static_cast<int>(p->tensor()->shape()->size()) || p->split_groups() < 1 ||
                         p->tensor()->shape()->Get(dim) % (ranks * p->split_groups()) != 0))
          return Bad(name_, StrCat("parameter #", i, " is split along a dimension it does not have "
                                                     "or that does not divide by the ranks"));
        if (p->init() == nullptr || static_cast<int>(p->init()->dist()) > 3)
          return Bad(name_, StrCat("parameter or state #", i, " has a bad init spec"));
      }
    }
    const size_t num_states = a_.states() ? a_.states()->size() : 0;
    if ((r_.states() ? r_.states()->size() : 0) != num_states)
      return Bad(name_, "the rank's optimizer state does not match the artifact's");
    if (num_states)
      if (auto s = check(*r_.states(), num_states, "state", fb::Storage::State); !s.ok()) return s;
    for (unsigned i = 0; i < a_.outputs()->size(); ++i) {
      const fb::OutputSpec *o = a_.outputs()->Get(i);
      if (o->name() == nullptr) return Bad(name_, StrCat("output #", i, " has no name"));
      // A tp-split output's dimension exists and divides among the tp ranks.
      const fb::ValueDesc *home = i < r_.outputs()->size() ? Value(r_.outputs()->Get(i)) : nullptr;
      if (o->split_dim() != -1 &&
          (home == nullptr || home->shape() == nullptr || o->split_dim() < 0 ||
           o->split_dim() >= static_cast<int>(home->shape()->size()) || Named("tp") < 1))
        return Bad(name_, StrCat("output #", i, " is split along a dimension it does not have"));
    }
    if (auto s = check(*r_.inputs(), a_.inputs()->size(), "input", fb::Storage::Input); !s.ok())
      return s;
    if (auto s = check(*r_.params(), a_.params()->size(), "parameter", fb::Storage::Param); !s.ok())
      return s;
    if (auto s = check(*r_.outputs(), a_.outputs()->size(), "output", fb::Storage::Arena); !s.ok())
      return s;
    // A value kept in output tensor k must fit the tensor output k is
    // allocated as (its own value, which must itself live there).
    for (unsigned i = 0; i < r_.values()->size(); ++i) {
      const fb::ValueDesc *v = r_.values()->Get(i);
      if (v->storage() != fb::Storage::Output) continue;
      const fb::ValueDesc *home = r_.values()->Get(r_.outputs()->Get(v->index()));
      if (home->storage() != fb::Storage::Output || home->index() != v->index() ||
          home->dtype() != v->dtype() || NumElements(home->shape()) != NumElements(v->shape()))
        return Bad(name_, StrCat("value #", i, " does not fit output ", v->index()));
    }
    return absl::OkStatus();
  }

  // The rank's map entry k is kAbsent (or missing: the interface check
  // reports that).
  static bool Absent(const flatbuffers::Vector<uint32_t> *ids, uint64_t k) {
    return ids == nullptr || k >= ids->size() || ids->Get(k) == kAbsent;
  }

  const fb::ValueDesc *Value(uint32_t id) const {
    return id < r_.values()->size() ? r_.values()->Get(id) : nullptr;
  }

  // Arity, attribute counts and the sizes the kernel will touch.
  absl::Status CheckInstruction(const fb::Instruction &in) {
    auto n_ops = in.operands() ? in.operands()->size() : 0;
    auto n_res = in.results() ? in.results()->size() : 0;
    std::vector<const fb::ValueDesc *> ops, res;
    for (unsigned i = 0; i < n_ops; ++i) {
      ops.push_back(Value(in.operands()->Get(i)));
      if (!ops.back()) return absl::InvalidArgumentError("an operand is out of range");
    }
    for (unsigned i = 0; i < n_res; ++i) {
      res.push_back(Value(in.results()->Get(i)));
      if (!res.back()) return absl::InvalidArgumentError("a result is out of range");
      // Results land in the arena, an output tensor, or (training updates,
      // in place) a parameter or state tensor; never in an input or constant.
      if (res.back()->storage() == fb::Storage::Input ||
          res.back()->storage() == fb::Storage::Constant)
        return absl::InvalidArgumentError("a result would overwrite an input or constant");
    }
    const auto *ints = in.ints();
    size_t n_ints = ints ? ints->size() : 0;
    auto I = [&](size_t k) { return ints->Get(k); };
    auto elems = [](const fb::ValueDesc *v) { return NumElements(v->shape()); };
    auto is_f32 = [](const fb::ValueDesc *v) { return v->dtype() == fb::DType::F32; };
    auto is_int = [](const fb::ValueDesc *v) {
      return v->dtype() == fb::DType::I32 || v->dtype() == fb::DType::I64;
    };
    auto need = [&](size_t operands, size_t results, size_t min_ints) -> absl::Status {
      if (n_ops != operands || n_res != results || n_ints < min_ints)
        return absl::InvalidArgumentError(StrCat("expects ", operands, " operands, ", results,
                                                 " results and at least ", min_ints,
                                                 " integers; it has ", n_ops, ", ", n_res,
                                                 " and ", n_ints));
      return absl::OkStatus();
    };
    auto floats_at_least = [&](size_t k) {
      return in.floats() != nullptr && in.floats()->size() >= k;
    };
    auto all_f32 = [&]() {
      for (auto *v : ops) if (!is_f32(v)) return false;
      for (auto *v : res) if (!is_f32(v)) return false;
      return true;
    };
    auto mismatch = absl::InvalidArgumentError("its sizes do not match its operands");
    // Matmul and attention: an optional 8th int, bf16_inputs (0/1), set only
    // in an artifact compiled with --precision=bf16.
    auto bf16_flag_ok = [&]() -> absl::Status {
      if (n_ints > 8 || (n_ints == 8 && I(7) != 0 && I(7) != 1))
        return absl::InvalidArgumentError("its bf16_inputs flag (integer 8) is not 0 or 1");
      if (n_ints == 8 && I(7) == 1 && !bf16_)
        return absl::InvalidArgumentError(
            "it takes bf16 inputs but the artifact's precision is f32");
      return absl::OkStatus();
    };
    // An optional trailing vocabulary axis: absent or -1 (whole), or a mesh axis.
    auto vocab_axis_ok = [&](size_t k) { return n_ints <= k || I(k) == -1 || AxisSize(I(k)) >= 1; };
    switch (in.op()) {
      case fb::Opcode::Fused: return CheckFused(in, ops, res);
      case fb::Opcode::Copy: {
        if (auto s = need(1, 1, 0); !s.ok()) return s;
        const fb::CopySpec *c = in.copy();
        if (c == nullptr || c->shape() == nullptr || c->src_strides() == nullptr ||
            c->dst_strides() == nullptr || c->src_strides()->size() != c->shape()->size() ||
            c->dst_strides()->size() != c->shape()->size())
          return absl::InvalidArgumentError("a copy without a consistent spec");
        if (ops[0]->dtype() != res[0]->dtype()) return absl::InvalidArgumentError("copy changes dtype");
        if (!InBounds(c->shape(), c->src_offset(), c->src_strides(), elems(ops[0])) ||
            !InBounds(c->shape(), c->dst_offset(), c->dst_strides(), elems(res[0])))
          return absl::InvalidArgumentError("a copy reaches outside its tensors");
        return absl::OkStatus();
      }
      case fb::Opcode::Cast:
        if (auto s = need(1, 1, 1); !s.ok()) return s;
        if (I(0) != elems(ops[0]) || I(0) != elems(res[0])) return mismatch;
        return absl::OkStatus();
      case fb::Opcode::Matmul: {
        // The optional 9th int: the epilogue (gemm_epilogue.h), which adds
        // operands (bias [n]; residual or pre [b, m, n]) and a second result
        // (bias+gelu_tanh's optional pre [b, m, n]; dgelu_tanh+bgrad's [n]).
        using artifact::GemmEpilogue;
        const int64_t kind = n_ints > 8 ? I(8) : 0;
        if (kind < 0 || kind > artifact::kLastGemmEpilogue)
          return absl::InvalidArgumentError(StrCat("its epilogue (integer 9) ", kind, " is unknown"));
        const auto epilogue = static_cast<GemmEpilogue>(kind);
        const size_t results = epilogue == GemmEpilogue::kDGeluTanhBGrad ? 2
                               : epilogue == GemmEpilogue::kBiasGeluTanh && n_res == 2 ? 2
                                                                                       : 1;
        if (auto s = need(2 + artifact::GemmEpilogueExtraOperands(epilogue), results, 7); !s.ok())
          return s;
        if (n_ints > 9)
          return absl::InvalidArgumentError(StrCat("it has ", n_ints, " integers; at most 9"));
        if (n_ints >= 8 && I(7) != 0 && I(7) != 1)
          return absl::InvalidArgumentError("its bf16_inputs flag (integer 8) is not 0 or 1");
        if (n_ints >= 8 && I(7) == 1 && !bf16_)
          return absl::InvalidArgumentError(
              "it takes bf16 inputs but the artifact's precision is f32");
        int64_t b = I(0), m = I(1), n = I(2), k = I(3);
        if (Prod({b, m, n, k}) < 0 || !all_f32() || elems(ops[0]) != Prod({b, m, k}) ||
            elems(ops[1]) != Prod({I(6) ? b : 1, k, n}))
          return mismatch;
        for (size_t i = 0; i < n_res; ++i)  // kDGeluTanhBGrad's second: the bias gradient [n]
          if (elems(res[i]) != (i == 1 && epilogue == GemmEpilogue::kDGeluTanhBGrad ? n : Prod({b, m, n})))
            return mismatch;
        const bool bias = epilogue != GemmEpilogue::kNone && !artifact::IsGeluGradEpilogue(epilogue);
        for (size_t i = 2; i < n_ops; ++i)
          if (elems(ops[i]) != (bias && i == 2 ? n : Prod({b, m, n}))) return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::Reduce: {
        if (auto s = need(1, 1, 1); !s.ok()) return s;
        const auto *shape = ops[0]->shape();
        if (n_ints != 1 + shape->size() || I(0) < 0 || I(0) > 2) return mismatch;
        int64_t kept = 1;
        for (unsigned d = 0; d < shape->size(); ++d)
          if (!I(1 + d)) kept *= shape->Get(d);
        if (elems(res[0]) != kept || ops[0]->dtype() != res[0]->dtype()) return mismatch;
        if (!is_f32(ops[0]) && !is_int(ops[0])) return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::Softmax:
        if (auto s = need(1, 1, 3); !s.ok()) return s;
        if (!all_f32() || Prod({I(0), I(1), I(2)}) != elems(ops[0]) ||
            elems(res[0]) != elems(ops[0]))
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::LayerNorm:
      case fb::Opcode::RmsNorm: {
        size_t arity = in.op() == fb::Opcode::LayerNorm ? 3 : 2;
        if (auto s = need(arity, 1, 2); !s.ok()) return s;
        if (!all_f32() || !floats_at_least(1) || Prod({I(0), I(1)}) != elems(ops[0]) ||
            elems(res[0]) != elems(ops[0]))
          return mismatch;
        for (size_t i = 1; i < arity; ++i)
          if (elems(ops[i]) != I(1)) return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::Embedding:
        if (auto s = need(2, 1, 3); !s.ok()) return s;
        if (!is_f32(ops[0]) || !is_int(ops[1]) || !is_f32(res[0]) ||
            elems(ops[0]) != Prod({I(0), I(1)}) || I(2) < 0 || elems(ops[1]) != I(2) ||
            elems(res[0]) != Prod({I(2), I(1)}) || !vocab_axis_ok(3))
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::Attention: {
        if (auto s = need(3, 1, 7); !s.ok()) return s;
        if (auto s = bf16_flag_ok(); !s.ok()) return s;
        int64_t b = I(0), h = I(1), sq = I(2), sk = I(3), dh = I(4), dv = I(5);
        if (!all_f32() || !floats_at_least(1) || elems(ops[0]) != Prod({b, h, sq, dh}) ||
            elems(ops[1]) != Prod({b, h, sk, dh}) || elems(ops[2]) != Prod({b, h, sk, dv}) ||
            elems(res[0]) != Prod({b, h, sq, dv}) || (I(6) && sq != sk))
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::CrossEntropy:
        if (auto s = need(2, 1, 2); !s.ok()) return s;
        if (I(1) <= 0 || !is_f32(ops[0]) || !is_int(ops[1]) || !is_f32(res[0]) ||
            elems(ops[0]) != Prod({I(0), I(1)}) || elems(ops[1]) != I(0) || elems(res[0]) != 1)
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::Pad: {
        if (auto s = need(1, 1, 0); !s.ok()) return s;
        const fb::CopySpec *c = in.copy();
        if (c == nullptr || c->shape() == nullptr || c->src_strides() == nullptr ||
            c->dst_strides() == nullptr || c->src_strides()->size() != c->shape()->size() ||
            c->dst_strides()->size() != c->shape()->size() || ops[0]->dtype() != res[0]->dtype() ||
            !InBounds(c->shape(), c->src_offset(), c->src_strides(), elems(ops[0])) ||
            !InBounds(c->shape(), c->dst_offset(), c->dst_strides(), elems(res[0])))
          return absl::InvalidArgumentError("a pad reaches outside its tensors");
        return absl::OkStatus();
      }
      case fb::Opcode::SoftmaxGrad:
        if (auto s = need(2, 1, 3); !s.ok()) return s;
        if (!all_f32() || Prod({I(0), I(1), I(2)}) != elems(ops[0]) ||
            elems(ops[1]) != elems(ops[0]) || elems(res[0]) != elems(ops[0]))
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::LayerNormGrad:
      case fb::Opcode::RmsNormGrad: {
        size_t results = in.op() == fb::Opcode::LayerNormGrad ? 3 : 2;
        if (auto s = need(3, results, 2); !s.ok()) return s;
        if (!all_f32() || !floats_at_least(1) || Prod({I(0), I(1)}) != elems(ops[0]) ||
            elems(ops[1]) != I(1) || elems(ops[2]) != elems(ops[0]) ||
            elems(res[0]) != elems(ops[0]))
          return mismatch;
        for (size_t i = 1; i < results; ++i)
          if (elems(res[i]) != I(1)) return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::EmbeddingGrad:
        if (auto s = need(2, 1, 3); !s.ok()) return s;
        if (!is_int(ops[0]) || !is_f32(ops[1]) || !is_f32(res[0]) || I(2) < 0 ||
            elems(ops[0]) != I(2) || elems(ops[1]) != Prod({I(2), I(1)}) ||
            elems(res[0]) != Prod({I(0), I(1)}) || !vocab_axis_ok(3))
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::VocabShardStats:
      case fb::Opcode::VocabShardStatsGrad: {
        const bool grad = in.op() == fb::Opcode::VocabShardStatsGrad;
        if (auto s = need(grad ? 4 : 3, 1, 3); !s.ok()) return s;
        if (I(1) <= 0 || AxisSize(I(2)) < 1 || !is_f32(ops[0]) || !is_int(ops[1]) ||
            !is_f32(ops[2]) || !is_f32(res[0]) || elems(ops[0]) != Prod({I(0), I(1)}) ||
            elems(ops[1]) != I(0) || elems(ops[2]) != I(0) ||
            (grad ? !is_f32(ops[3]) || elems(ops[3]) != Prod({I(0), 2}) ||
                        elems(res[0]) != elems(ops[0])
                  : elems(res[0]) != Prod({I(0), 2})))
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::AttentionGrad: {
        if (auto s = need(4, 3, 7); !s.ok()) return s;
        if (auto s = bf16_flag_ok(); !s.ok()) return s;
        int64_t b = I(0), h = I(1), sq = I(2), sk = I(3), dh = I(4), dv = I(5);
        if (!all_f32() || !floats_at_least(1) || elems(ops[0]) != Prod({b, h, sq, dh}) ||
            elems(ops[1]) != Prod({b, h, sk, dh}) || elems(ops[2]) != Prod({b, h, sk, dv}) ||
            elems(ops[3]) != Prod({b, h, sq, dv}) || elems(res[0]) != elems(ops[0]) ||
            elems(res[1]) != elems(ops[1]) || elems(res[2]) != elems(ops[2]) ||
            (I(6) && sq != sk))
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::CrossEntropyGrad:
        if (auto s = need(3, 1, 2); !s.ok()) return s;
        if (I(1) <= 0 || !is_f32(ops[0]) || !is_int(ops[1]) || !is_f32(ops[2]) ||
            !is_f32(res[0]) || elems(ops[0]) != Prod({I(0), I(1)}) || elems(ops[1]) != I(0) ||
            elems(ops[2]) != 1 || elems(res[0]) != elems(ops[0]))
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::AllReduce:
        if (auto s = need(1, 1, 3); !s.ok()) return s;
        if (I(0) < 0 || I(0) > 3 || AxisSize(I(2)) < 1 || elems(ops[0]) != I(1) || elems(res[0]) != I(1) ||
            ops[0]->dtype() != res[0]->dtype())
          return mismatch;
        return absl::OkStatus();
      case fb::Opcode::ReduceScatter: {
        if (auto s = need(1, 1, 3); !s.ok()) return s;
        const int64_t ranks = AxisSize(I(n_ints - 1));
        if (n_ints > 4 || ranks < 1 || I(0) < 0 || I(0) > 1 || elems(res[0]) != I(1) ||
            elems(ops[0]) != Prod({I(1), ranks}) || ops[0]->dtype() != res[0]->dtype() ||
            !Divides(n_ints == 4 ? I(2) : 1, I(1)))
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::AllSlice:
      case fb::Opcode::AllGather: {
        if (auto s = need(1, 1, 2); !s.ok()) return s;
        const int64_t ranks = AxisSize(I(n_ints - 1));
        if (n_ints > 3 || ranks < 1 || !Divides(n_ints == 3 ? I(1) : 1, I(0))) return mismatch;
        const bool slice = in.op() == fb::Opcode::AllSlice;
        if (elems(slice ? res[0] : ops[0]) != I(0) ||
            elems(slice ? ops[0] : res[0]) != Prod({I(0), ranks}) || ops[0]->dtype() != res[0]->dtype())
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::AllToAll: {
        if (auto s = need(1, 1, 4); !s.ok()) return s;
        const int64_t ranks = AxisSize(I(3));
        if (ranks < 1 || elems(ops[0]) != Prod({I(0), ranks}) || elems(res[0]) != elems(ops[0]) ||
            !Divides(I(1), I(0)) || !Divides(I(2), I(0)) || ops[0]->dtype() != res[0]->dtype())
          return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::Send:
      case fb::Opcode::Recv: {
        // ints: n, peer, axis; the peer is a coordinate along the axis.
        const bool send = in.op() == fb::Opcode::Send;
        if (auto s = need(send ? 1 : 0, send ? 0 : 1, 3); !s.ok()) return s;
        const int64_t ranks = AxisSize(I(2));
        if (ranks < 1) return absl::InvalidArgumentError(StrCat("axis ", I(2), " is not a mesh axis"));
        if (I(1) < 0 || I(1) >= ranks)
          return absl::InvalidArgumentError(
              StrCat("peer ", I(1), " is not a rank of mesh axis ", I(2), " (", ranks, " ranks)"));
        if (elems(send ? ops[0] : res[0]) != I(0)) return mismatch;
        return absl::OkStatus();
      }
      case fb::Opcode::SgdUpdate:
      case fb::Opcode::AdamwUpdate: {
        bool adam = in.op() == fb::Opcode::AdamwUpdate;
        if (auto s = need(adam ? 5 : 4, adam ? 3 : 2, 1); !s.ok()) return s;
        if (!all_f32() || !floats_at_least(adam ? 5 : 3) || elems(ops.back()) != 1) return mismatch;
        for (size_t i = 0; i + 1 < ops.size(); ++i)
          if (elems(ops[i]) != I(0)) return mismatch;
        for (const fb::ValueDesc *r : res)
          if (elems(r) != I(0)) return mismatch;
        return absl::OkStatus();
      }
    }
    return absl::InvalidArgumentError("unknown opcode");
  }

  // A collective's `outer` (rows of its [outer, rest] view) splits its count.
  static bool Divides(int64_t outer, int64_t n) { return outer >= 1 && n % outer == 0; }

  // The largest index a strided walk reaches must stay inside the tensor.
  static bool InBounds(const flatbuffers::Vector<int64_t> *shape, int64_t offset,
                       const flatbuffers::Vector<int64_t> *strides, int64_t elements) {
    if (offset < 0) return false;
    int64_t last = offset, reach;
    for (unsigned i = 0; i < shape->size(); ++i) {
      int64_t d = shape->Get(i), s = strides->Get(i);
      if (d < 0 || s < 0) return false;
      if (d == 0) return true;  // nothing is touched
      if (__builtin_mul_overflow(d - 1, s, &reach) || __builtin_add_overflow(last, reach, &last))
        return false;
    }
    return last < elements;
  }

  absl::Status CheckFused(const fb::Instruction &in, const std::vector<const fb::ValueDesc *> &ops,
                          const std::vector<const fb::ValueDesc *> &res) {
    const fb::FusedProgram *p = in.fused();
    if (p == nullptr || p->shape() == nullptr || p->loads() == nullptr || p->steps() == nullptr ||
        p->outputs() == nullptr)
      return absl::InvalidArgumentError("a fused instruction without its program");
    int64_t n = NumElements(p->shape());
    if (n < 0) return absl::InvalidArgumentError("a fused program with a bad shape");
    for (const fb::ValueDesc *v : ops) {
      bool integer = v->dtype() == fb::DType::I32 || v->dtype() == fb::DType::I64;
      if (integer != p->integer())
        return absl::InvalidArgumentError("a fused operand of the wrong class");
    }
    for (const fb::ValueDesc *v : res) {
      bool integer = v->dtype() == fb::DType::I32 || v->dtype() == fb::DType::I64;
      if (NumElements(v->shape()) != n || integer != p->integer())
        return absl::InvalidArgumentError("a fused result of the wrong size or class");
    }
    for (const fb::FusedLoad *l : *p->loads()) {
      if (l->operand() >= ops.size() || l->strides() == nullptr ||
          l->strides()->size() != p->shape()->size() ||
          !InBounds(p->shape(), 0, l->strides(), NumElements(ops[l->operand()]->shape())))
        return absl::InvalidArgumentError("a fused load reaches outside its operand");
    }
    uint32_t regs = p->loads()->size();
    for (const fb::FusedStep *s : *p->steps()) {
      if (static_cast<int>(s->op()) > static_cast<int>(fb::EwOp::Scale) || s->a() >= regs ||
          s->b() >= regs || s->c() >= regs)
        return absl::InvalidArgumentError("a fused step reads an undefined register");
      ++regs;
    }
    if (p->outputs()->size() != res.size())
      return absl::InvalidArgumentError("a fused program writes the wrong number of results");
    for (uint32_t r : *p->outputs())
      if (r >= regs) return absl::InvalidArgumentError("a fused output is an undefined register");
    return absl::OkStatus();
  }

  const fb::Artifact &a_;
  const fb::RankProgram &r_;
  const std::string &name_;
  const bool bf16_;  // --precision=bf16: instructions may take bf16 inputs
};

// The mesh's axes are pp, dp and tp, each at most once, outermost first in
// that order: the executor derives each rank's coordinates from this.
absl::Status CheckMeshAxes(const fb::Artifact &a, const std::string &name) {
  if (a.mesh() == nullptr) return absl::OkStatus();
  static const char *const kOrder[] = {"pp", "dp", "tp"};
  int next = 0;  // the first name of kOrder the next axis may have
  std::string seen;
  for (const fb::MeshAxis *m : *a.mesh()) {
    const std::string axis = m->name()->str();
    int k = 0;
    while (k < 3 && axis != kOrder[k]) ++k;
    if (k == 3) return Bad(name, StrCat("mesh axis '", axis, "' is not one of pp, dp, tp"));
    if (k < next)
      return Bad(name, StrCat("mesh axes must be listed in the order pp, dp, tp (outermost first); "
                              "got ", seen, ", ", axis));
    next = k + 1;
    absl::StrAppend(&seen, seen.empty() ? "" : ", ", axis);
  }
  return absl::OkStatus();
}

// Ranks along axis `axis_name` and the stride of its coordinate in the rank
// number; {1, 1} when the mesh lacks it.
std::pair<int64_t, int64_t> AxisOf(const fb::Artifact &a, const char *axis_name) {
  int64_t size = 1, stride = 1;
  bool found = false;
  if (a.mesh())
    for (int k = static_cast<int>(a.mesh()->size()) - 1; k >= 0; --k) {
      const fb::MeshAxis *m = a.mesh()->Get(k);
      if (m->name()->str() == axis_name) {
        size = m->size();
        found = true;
        break;
      }
      stride *= m->size();
    }
  return found ? std::make_pair(size, stride) : std::make_pair(int64_t{1}, int64_t{1});
}

// Every parameter and state tensor is held by some rank, and by all the
// ranks of a pipeline stage or none of them (the dp and tp groups of a
// stage share its tensors), so that saving finds each one whole.
absl::Status CheckHolders(const fb::Artifact &a, const std::string &name) {
  const auto [pp, stride] = AxisOf(a, "pp");
  for (bool state : {false, true}) {
    const auto *specs = state ? a.states() : a.params();
    if (specs == nullptr) continue;
    for (unsigned k = 0; k < specs->size(); ++k) {
      auto held = [&](unsigned r) {
        const auto *ids = state ? a.ranks()->Get(r)->states() : a.ranks()->Get(r)->params();
        return ids != nullptr && ids->Get(k) != kAbsent;  // sizes checked per rank before
      };
      bool any = false;
      for (unsigned r = 0; r < a.ranks()->size(); ++r) {
        any |= held(r);
        // The first rank of r's stage: its pp coordinate, the others 0.
        const unsigned first = static_cast<unsigned>((r / stride) % pp * stride);
        if (held(r) != held(first))
          return Bad(name, StrCat(state ? "optimizer state '" : "parameter '",
                                  specs->Get(k)->tensor()->name()->str(), "' is held by rank ",
                                  held(r) ? r : first, " but not by rank ", held(r) ? first : r,
                                  " of the same pipeline stage"));
      }
      if (!any)
        return Bad(name, StrCat(state ? "optimizer state '" : "parameter '",
                                specs->Get(k)->tensor()->name()->str(), "' is held by no rank"));
    }
  }
  return absl::OkStatus();
}

// The Pipeline table (weft-dump --schedule reads it): its sizes agree with
// the pp axis and each other, and every op names a microbatch, chunk and
// peer that exist. Whether the lists are a correct schedule is
// weft::pipeline::Simulate's question, asked by weft-dump.
absl::Status CheckPipeline(const fb::Artifact &a, const std::string &name) {
  const fb::Pipeline *p = a.pipeline();
  if (p == nullptr) return absl::OkStatus();
  const int64_t pp = AxisOf(a, "pp").first, P = p->stages(), V = p->virtual_stages(),
                M = p->microbatches();
  if (p->schedule() == nullptr || P != pp || V < 1 || M < 1)
    return Bad(name, StrCat("the pipeline table has ", P, " stages, ", V, " chunks per rank and ",
                            M, " microbatches; the mesh's pp axis has ", pp, " ranks"));
  if (p->stage_info() == nullptr || static_cast<int64_t>(p->stage_info()->size()) != P * V)
    return Bad(name, StrCat("the pipeline table describes ",
                            p->stage_info() ? p->stage_info()->size() : 0, " stages, not ", P * V));
  for (unsigned s = 0; s < p->stage_info()->size(); ++s) {
    const fb::PipelineStage *st = p->stage_info()->Get(s);
    if (!(st->forward_cost() >= 0) || !(st->backward_cost() >= 0) || st->stash_bytes() < 0 ||
        st->param_bytes() < 0)
      return Bad(name, StrCat("pipeline stage ", s, " has a negative cost or size"));
  }
  if (p->ranks() == nullptr || static_cast<int64_t>(p->ranks()->size()) != P)
    return Bad(name, StrCat("the pipeline table has ", p->ranks() ? p->ranks()->size() : 0,
                            " rank lists for ", P, " stages"));
  for (unsigned r = 0; r < p->ranks()->size(); ++r) {
    const fb::PipelineRank *list = p->ranks()->Get(r);
    if (list->ops() == nullptr) return Bad(name, StrCat("pipeline rank ", r, " has no op list"));
    for (unsigned i = 0; i < list->ops()->size(); ++i) {
      const fb::PipelineOp *op = list->ops()->Get(i);
      const bool step = op->kind() == fb::PipelineOpKind::OptimizerStep;
      const bool message = op->kind() >= fb::PipelineOpKind::SendActivation && !step;
      if (op->kind() > fb::PipelineOpKind::OptimizerStep ||
          (!step && (op->microbatch() < 0 || op->microbatch() >= M || op->chunk() < 0 ||
                     op->chunk() >= V)) ||
          (message ? op->peer() < 0 || op->peer() >= P || op->peer() == static_cast<int>(r)
                   : op->peer() != -1))
        return Bad(name, StrCat("pipeline rank ", r, ", op ", i,
                                ": a bad kind, microbatch, chunk or peer"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Artifact>> ParseArtifact(std::string bytes,
                                                              const std::string &name) {
  if (bytes.size() < kHeaderSize)
    return Bad(name, StrCat("the file has ", bytes.size(), " bytes, less than the ", kHeaderSize,
                            "-byte header: truncated or not an artifact"));
  if (std::memcmp(bytes.data(), kMagic, 8) != 0)
    return Bad(name, "not a Weft artifact (bad magic); compile one with weftc -o model.weft");
  uint32_t version;
  uint64_t size, sum;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&size, bytes.data() + 16, 8);
  std::memcpy(&sum, bytes.data() + 24, 8);
  if (version != kFormatVersion)
    return absl::FailedPreconditionError(
        StrCat(name, ": artifact format version ", version, ", this runtime reads version ",
               kFormatVersion, "; recompile the model with a matching weftc"));
  if (size != bytes.size() - kHeaderSize)
    return Bad(name, StrCat("the header promises ", size, " bytes of payload but the file has ",
                            bytes.size() - kHeaderSize, ": truncated or padded"));
  const uint8_t *payload = reinterpret_cast<const uint8_t *>(bytes.data()) + kHeaderSize;
  if (Fnv1a64(payload, size) != sum) return Bad(name, "checksum mismatch: the file is corrupted");

  // The payload sits 32 bytes in; FlatBuffers wants it aligned, which a
  // std::string's heap block (16-byte aligned) plus 32 is.
  flatbuffers::Verifier verifier(payload, size);
  if (!fb::VerifyArtifactBuffer(verifier)) return Bad(name, "the FlatBuffer does not verify");
  auto out = std::make_shared<Artifact>();
  out->name = name;
  out->bytes = std::move(bytes);
  out->root = fb::GetArtifact(reinterpret_cast<const uint8_t *>(out->bytes.data()) + kHeaderSize);
  const fb::Artifact &a = *out->root;
  if (a.format_version() != kFormatVersion)
    return Bad(name, "the payload's format version disagrees with the header");
  if (a.ranks() == nullptr || a.ranks()->size() == 0) return Bad(name, "no rank programs");
  // The mesh's axes multiply to the ranks.
  int64_t mesh_ranks = 1;
  if (a.mesh())
    for (const fb::MeshAxis *m : *a.mesh())
      if (m->name() == nullptr || (mesh_ranks = Prod({mesh_ranks, m->size()})) < 1)
        return Bad(name, "a mesh axis has no name or no ranks");
  if (mesh_ranks != static_cast<int64_t>(a.ranks()->size()))
    return Bad(name, StrCat("the mesh has ", mesh_ranks, " ranks, the artifact ", a.ranks()->size(),
                            " programs"));
  if (absl::Status s = CheckMeshAxes(a, name); !s.ok()) return s;
  // Absent in artifacts written before --precision: f32.
  if (a.precision() && !IsPrecision(a.precision()->string_view()))
    return Bad(name, StrCat("precision \"", a.precision()->str(), "\" is neither f32 nor bf16"));
  for (const fb::RankProgram *r : *a.ranks()) {
    RankChecker checker(a, *r, name);
    if (absl::Status s = checker.Check(); !s.ok()) return s;
  }
  if (absl::Status s = CheckHolders(a, name); !s.ok()) return s;
  if (absl::Status s = CheckPipeline(a, name); !s.ok()) return s;
  return std::shared_ptr<const Artifact>(std::move(out));
}

absl::StatusOr<std::shared_ptr<const Artifact>> ReadArtifactFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot open '", path, "': ", std::strerror(errno)));
  std::ostringstream buf;
  buf << in.rdbuf();
  return ParseArtifact(buf.str(), path);
}

}  // namespace weft::artifact

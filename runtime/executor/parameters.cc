// A Program's parameters and optimizer state: initialising, loading, saving,
// reading and writing them, whatever their split. A rank holds a tensor
// whole (replicated), a tp slice of it, a flat dp slice of that (ZeRO-1
// state), or, on a pipeline stage that does not use it, nothing; saving and
// reading assemble the whole tensor from the ranks that hold it.
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/holdings.h"
#include "runtime/executor/init.h"
#include "runtime/executor/program_impl.h"
#include "runtime/io/safetensors.h"

namespace weft {

using absl::StrCat;

void CopySlice(void *whole, void *slice, const std::vector<int64_t> &shape, int dim, int part,
               int parts, size_t element, bool to_slice) {
  int64_t outer = 1, inner = element;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t local = shape[dim] / parts;
  const size_t run = local * inner;  // bytes of one contiguous piece
  for (int64_t o = 0; o < outer; ++o) {
    char *w = static_cast<char *>(whole) + (o * shape[dim] + part * local) * inner;
    char *s = static_cast<char *>(slice) + o * run;
    if (to_slice) std::memcpy(s, w, run);
    else std::memcpy(w, s, run);
  }
}

SplitView ViewOf(std::vector<int64_t> shape, const fb::ParamSpec &p) {
  const int dim = p.split_dim(), groups = p.split_groups();
  if (dim < 0 || groups <= 1) return {std::move(shape), dim};
  shape[dim] /= groups;
  shape.insert(shape.begin() + dim, groups);
  return {std::move(shape), dim + 1};
}

void TakePiece(const Tensor &whole, Tensor &piece, const std::vector<int64_t> &shape, int dim,
               bool flat, int d, int t, int tp) {
  const size_t element = DTypeSize(whole.dtype());
  const char *src = static_cast<const char *>(whole.data());
  std::vector<char> slice;
  if (dim >= 0 && !flat) {
    CopySlice(const_cast<char *>(src), piece.data(), shape, dim, t, tp, element, /*to_slice=*/true);
    return;
  }
  if (dim >= 0) {
    slice.resize(whole.byte_size() / tp);
    CopySlice(const_cast<char *>(src), slice.data(), shape, dim, t, tp, element, /*to_slice=*/true);
    src = slice.data();
  }
  std::memcpy(piece.data(), src + (flat ? d * piece.byte_size() : 0), piece.byte_size());
}

int Program::Impl::RankAt(int p, int d, int t) const {
  int r = 0;
  for (auto [axis, c] : {std::pair{pp_axis, p}, {dp_axis, d}, {tp_axis, t}})
    if (axis >= 0) r += c * stride[axis];
  return r;
}

// The reader checked that some stage holds it, all of a stage's ranks alike.
int Program::Impl::OwnerStage(size_t i, bool is_state) const {
  for (int p = 0; p < pp; ++p)
    if (artifact::Holds(root(), RankAt(p, 0, 0), i, is_state)) return p;
  return 0;
}

// The owner stage's ranks assemble it: under ZeRO-1 (`flat`) each tp slice
// is first gathered over dp, then the tp slices (split along `dim`) are
// laid in place. Under MPI these are collectives of that stage's processes,
// and a stage other than 0 then sends the tensor to process 0, which writes
// files; in process they are plain copies.
absl::StatusOr<Tensor> Program::Impl::Whole(const TensorInfo &info, bool is_state, size_t i) const {
  // The cuda backend's devices hold the newest values after a step.
  if (device)
    if (absl::Status s = device->PullState(); !s.ok()) return s;
  const fb::ParamSpec &spec = *(is_state ? root().states() : root().params())->Get(i);
  const SplitView view = ViewOf(info.shape, spec);
  const int dim = tp > 1 ? view.dim : -1;
  const bool flat = is_state && spec.split() && dp > 1;
  const int stage = OwnerStage(i, is_state), parts = dim >= 0 ? tp : 1;
  const size_t element = DTypeSize(info.dtype);
  int64_t piece = element;  // one rank's bytes
  for (int64_t d : artifact::LocalShape(root(), spec, is_state)) piece *= d;
  const size_t slice = piece * (flat ? dp : 1);  // a tp slice, whole over dp
  const bool mpi = process_comm != nullptr;
  const Rank &me = ranks[0];
  auto held = [&](const Rank &r) -> const Tensor & { return (is_state ? r.states : r.params)[i]; };
  Tensor whole(info.dtype, info.shape);
  if (!mpi || me.p == stage) {
    std::vector<char> slices(slice * parts);
    if (mpi) {
      std::vector<char> local(flat ? slice : 0);
      const void *src = held(me).data();
      if (flat) {
        if (absl::Status s = dp_comm->AllGather(src, local.data(), piece / element, info.dtype);
            !s.ok())
          return s;
        src = local.data();
      }
      if (dim >= 0) {
        if (absl::Status s = tp_comm->AllGather(src, slices.data(), slice / element, info.dtype);
            !s.ok())
          return s;
      } else {
        std::memcpy(slices.data(), src, slice);
      }
    } else {
      for (const Rank &r : ranks) {
        // Another stage's, or a copy of one already taken.
        if (r.p != stage || (!flat && r.d != 0) || (dim < 0 && r.t != 0)) continue;
        std::memcpy(slices.data() + (dim >= 0 ? r.t : 0) * slice + (flat ? r.d * piece : 0),
                    held(r).data(), piece);
      }
    }
    if (dim < 0) {
      std::memcpy(whole.data(), slices.data(), slice);
    } else {
      for (int t = 0; t < tp; ++t)
        CopySlice(whole.data(), slices.data() + t * slice, view.shape, dim, t, tp, element,
                  /*to_slice=*/false);
    }
  }
  if (mpi && stage != 0) {
    const int owner = RankAt(stage, 0, 0);
    if (me.index == owner) {
      if (absl::Status s = process_comm->Send(whole.data(), whole.num_elements(), info.dtype, 0);
          !s.ok())
        return s;
      if (absl::Status s = process_comm->FinishSends(); !s.ok()) return s;
    } else if (me.index == 0) {
      if (absl::Status s = process_comm->Recv(whole.data(), whole.num_elements(), info.dtype, owner);
          !s.ok())
        return s;
    }
  }
  return whole;
}

absl::Status Program::InitParameters(uint64_t seed) {
  if (impl_->device) impl_->device->StateChangedOnHost();
  const fb::Artifact &a = *impl_->art->root;
  for (Rank &rank : impl_->ranks) {
    for (unsigned i = 0; i < a.params()->size(); ++i) {
      if (rank.params[i].empty()) continue;  // another pipeline stage's
      const fb::ParamSpec &spec = *a.params()->Get(i);
      const fb::InitSpec &init = *spec.init();
      if (spec.split_dim() >= 0) {
        const SplitView view = ViewOf(params_[i].shape, spec);
        FillRandomSlice(rank.params[i], static_cast<InitDist>(init.dist()), init.a(), init.b(),
                        seed, params_[i].name, view.shape, view.dim, rank.t, impl_->tp);
      }
      else
        FillRandom(rank.params[i], static_cast<InitDist>(init.dist()), init.a(), init.b(), seed,
                   params_[i].name);
    }
    for (unsigned i = 0; i < states_.size(); ++i) {
      if (rank.states[i].empty()) continue;
      const fb::ParamSpec &spec = *a.states()->Get(i);
      const fb::InitSpec &init = *spec.init();
      const auto dist = static_cast<InitDist>(init.dist());
      const bool constant = dist == InitDist::kZeros || dist == InitDist::kOnes;
      if (constant || (!spec.split() && spec.split_dim() < 0)) {
        FillRandom(rank.states[i], dist, init.a(), init.b(), seed, states_[i].name);
        continue;
      }
      // A random state that is split: this rank's piece of the whole one's
      // numbers, as on one device.
      Tensor whole(states_[i].dtype, states_[i].shape);
      FillRandom(whole, dist, init.a(), init.b(), seed, states_[i].name);
      const SplitView view = ViewOf(states_[i].shape, spec);
      TakePiece(whole, rank.states[i], view.shape, view.dim, spec.split(), rank.d, rank.t,
                impl_->tp);
    }
  }
  return absl::OkStatus();
}

int64_t Program::step() const {
  if (impl_->device && !impl_->device->PullState().ok()) return 0;
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == "optimizer.step")
      for (const Rank &rank : impl_->ranks)
        if (!rank.states[i].empty())
          return static_cast<int64_t>(rank.states[i].data_as<float>()[0]);
  return 0;
}

absl::Status Program::SetParameter(const std::string &name, const Tensor &value) {
  // The others stay as the devices have them; this one goes there too.
  if (impl_->device) {
    if (absl::Status s = impl_->device->PullState(); !s.ok()) return s;
    impl_->device->StateChangedOnHost();
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name != name) continue;
    if (value.dtype() != params_[i].dtype || value.shape() != params_[i].shape)
      return absl::InvalidArgumentError(
          StrCat("parameter '", name, "' is ", DTypeName(params_[i].dtype),
                 ShapeString(params_[i].shape), ", got ", value.DebugString()));
    const SplitView view = ViewOf(params_[i].shape, *impl_->art->root->params()->Get(i));
    for (Rank &rank : impl_->ranks) {
      if (rank.params[i].empty()) continue;  // another pipeline stage's
      if (view.dim >= 0)
        CopySlice(const_cast<void *>(value.data()), rank.params[i].data(), view.shape, view.dim,
                  rank.t, impl_->tp, DTypeSize(value.dtype()), /*to_slice=*/true);
      else
        std::memcpy(rank.params[i].data(), value.data(), value.byte_size());
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError(StrCat("the model has no parameter '", name, "'"));
}

absl::StatusOr<Tensor> Program::GetParameter(const std::string &name) const {
  if (impl_->device)
    if (absl::Status s = impl_->device->PullState(); !s.ok()) return s;
  const Impl &m = *impl_;
  // Under MPI a process reads what its own rank holds whole; the rest needs
  // every process (SaveParameters). In process, the ranks' pieces are here.
  auto read = [&](const TensorInfo &info, bool is_state, size_t i,
                  bool split) -> absl::StatusOr<Tensor> {
    if (m.process_comm == nullptr) return m.Whole(info, is_state, i);
    const Tensor &mine = (is_state ? m.ranks[0].states : m.ranks[0].params)[i];
    if (mine.empty())
      return absl::FailedPreconditionError(StrCat(
          "'", info.name, "' lives on pipeline stage ", m.OwnerStage(i, is_state),
          ", not on this process (rank ", m.ranks[0].index, ", stage ", m.ranks[0].p,
          "): under MPI use SaveParameters, which every process calls"));
    if (split)
      return absl::UnimplementedError(
          StrCat("reading ", is_state ? "split optimizer state" : "a tensor-parallel parameter",
                 " under MPI: use SaveParameters"));
    return mine.Clone();
  };
  const fb::Artifact &a = m.root();
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name)
      return read(params_[i], false, i, a.params()->Get(i)->split_dim() >= 0);
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == name)
      return read(states_[i], true, i, a.states()->Get(i)->split() || a.states()->Get(i)->split_dim() >= 0);
  return absl::NotFoundError(StrCat("the model has no parameter '", name, "'"));
}

absl::Status Program::LoadParameters(const std::string &path, bool with_state) {
  if (impl_->device) {
    if (absl::Status s = impl_->device->PullState(); !s.ok()) return s;
    impl_->device->StateChangedOnHost();
  }
  auto file = io::ReadSafetensors(path);
  if (!file.ok()) return file.status();
  std::vector<std::string> problems;
  std::set<std::string> known;
  int found = 0, missing_state = 0;
  auto load = [&](const std::vector<TensorInfo> &infos, bool is_state) {
    for (size_t i = 0; i < infos.size(); ++i) {
      const TensorInfo &p = infos[i];
      known.insert(p.name);
      auto it = file->tensors.find(p.name);
      if (it == file->tensors.end()) {
        if (is_state) ++missing_state;
        else problems.push_back(StrCat("missing '", p.name, "' (", DTypeName(p.dtype),
                                       ShapeString(p.shape), ")"));
        continue;
      }
      if (it->second.dtype() != p.dtype || it->second.shape() != p.shape) {
        problems.push_back(StrCat("'", p.name, "' is ", it->second.DebugString(),
                                  ", the model needs ", DTypeName(p.dtype), ShapeString(p.shape)));
        continue;
      }
      if (!is_state) ++found;
      const bool split = is_state && impl_->art->root->states()->Get(i)->split();
      const SplitView view =
          ViewOf(p.shape, *(is_state ? impl_->art->root->states() : impl_->art->root->params())->Get(i));
      for (Rank &rank : impl_->ranks) {
        Tensor &mine = (is_state ? rank.states : rank.params)[i];
        if (mine.empty()) continue;  // another pipeline stage's
        TakePiece(it->second, mine, view.shape, view.dim, split, rank.d, rank.t, impl_->tp);
      }
    }
  };
  load(params_, /*is_state=*/false);
  if (with_state) load(states_, /*is_state=*/true);
  for (const auto &[name, t] : file->tensors)
    if (!known.count(name) && name.rfind("optimizer.", 0) != 0)
      problems.push_back(StrCat("unexpected '", name, "' (not a parameter of the model)"));
  if (with_state && missing_state > 0)
    problems.insert(problems.begin(),
                    StrCat(missing_state, " of ", states_.size(),
                           " optimizer state tensors are missing (e.g. 'optimizer.step'): --resume "
                           "needs a checkpoint written by --save of a training run; to start "
                           "fresh from these weights use --weights"));
  if (problems.empty()) return absl::OkStatus();
  std::string summary =
      StrCat(path, ": the weights do not fit the model (", found, " of ", params_.size(),
             " parameters found", found == 0 ? "; is this file for another model?" : "", "): ");
  const size_t shown = std::min<size_t>(problems.size(), 6);
  summary += absl::StrJoin(problems.begin(), problems.begin() + shown, "; ");
  if (problems.size() > shown) summary += StrCat("; ... and ", problems.size() - shown, " more");
  return absl::InvalidArgumentError(summary);
}

absl::Status Program::SaveParameters(const std::string &path) const {
  // Each tensor whole, from the ranks that hold it: a collective under MPI
  // (every process calls this; only process 0 writes).
  io::Safetensors file;
  for (bool is_state : {false, true}) {
    const std::vector<TensorInfo> &infos = is_state ? states_ : params_;
    for (size_t i = 0; i < infos.size(); ++i) {
      auto whole = impl_->Whole(infos[i], is_state, i);
      if (!whole.ok()) return whole.status();
      file.tensors[infos[i].name] = *whole;
    }
  }
  if (process_rank() != 0) return absl::OkStatus();
  file.metadata["format"] = "pt";  // what other safetensors readers expect
  file.metadata["weft.source"] = impl_->art->root->source() ? impl_->art->root->source()->str() : "";
  return io::WriteSafetensors(path, file);
}

}  // namespace weft

// Runtime and Program: loading an artifact, holding parameters, and running
// one rank's instruction list on the CPU backend.
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/names.h"
#include "runtime/artifact/reader.h"
#include "runtime/collectives/communicator.h"
#include "runtime/cpu/fused.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/optimizers.h"
#include "runtime/cpu/vocab_shard.h"
#include "runtime/cuda/backend.h"
#include "runtime/executor/blocks.h"
#include "runtime/executor/init.h"
#include "runtime/poison.h"
#include "runtime/io/safetensors.h"
#include "weft/runtime.h"

namespace weft {
namespace {

using absl::StrCat;

std::vector<int64_t> ShapeOf(const flatbuffers::Vector<int64_t> *s) {
  return s ? std::vector<int64_t>(s->begin(), s->end()) : std::vector<int64_t>{};
}

TensorInfo InfoOf(const fb::TensorSpec &t) {
  return {t.name()->str(), static_cast<DType>(t.dtype()), ShapeOf(t.shape())};
}

struct AlignedFree {
  void operator()(uint8_t *p) const { std::free(p); }
};

// Between a whole tensor and one rank's slice of it along `dim` (tensor
// parallelism): the slice is `parts` equal pieces' number `part`.
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

// A parameter's tensor-parallel split as CopySlice and FillRandomSlice take
// it. A grouped split (an LSTM's gates, split_groups > 1) views split_dim as
// [groups, n / groups] and splits the inner one: an ordinary split of that
// reshaped tensor, whose elements are in the same order.
struct SplitView {
  std::vector<int64_t> shape;
  int dim;
};
SplitView ViewOf(std::vector<int64_t> shape, const fb::ParamSpec &p) {
  const int dim = p.split_dim(), groups = p.split_groups();
  if (dim < 0 || groups <= 1) return {std::move(shape), dim};
  shape[dim] /= groups;
  shape.insert(shape.begin() + dim, groups);
  return {std::move(shape), dim + 1};
}

// One rank's piece of a tensor of `shape` given whole (a SplitView's shape
// and dim for a grouped split): its tp slice along `dim` (none when -1), and under ZeRO-1 (`flat`) its dp coordinate's
// contiguous 1/dp of that slice, flattened.
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

// A tensor-parallel output (split along `dim` over tp, and along dimension 0
// over dp when `gather`) from every rank's slice: `local` holds the slices of
// this process's ranks, all of them in process; under MPI (`world` set) this
// rank's, all-gathered first. Rank r = d * tp + t.
absl::Status AssembleSplit(const std::vector<Tensor> &local, int dim, bool gather, int dp, int tp,
                           Communicator *world, Tensor &out) {
  std::vector<const char *> slices;
  Tensor all;
  const size_t slice_bytes = local[0].byte_size();
  if (world != nullptr) {
    all = Tensor::Uninitialized(out.dtype(), {static_cast<int64_t>(world->size()) *
                                              local[0].num_elements()});
    if (absl::Status s = world->AllGather(local[0].data(), all.data(), local[0].num_elements(),
                                          out.dtype());
        !s.ok())
      return s;
    for (int r = 0; r < world->size(); ++r)
      slices.push_back(static_cast<const char *>(all.data()) + r * slice_bytes);
  } else {
    for (const Tensor &t : local) slices.push_back(static_cast<const char *>(t.data()));
  }
  std::vector<int64_t> shape = out.shape();  // of one dp slice
  if (gather) shape[0] /= dp;
  const size_t dp_bytes = gather ? out.byte_size() / dp : 0;
  for (size_t r = 0; r < slices.size(); ++r) {
    const int d = static_cast<int>(r) / tp, t = static_cast<int>(r) % tp;
    if (!gather && d != 0) continue;  // a replica of d = 0's
    CopySlice(static_cast<char *>(out.data()) + d * dp_bytes, const_cast<char *>(slices[r]), shape,
              dim, t, tp, DTypeSize(out.dtype()), /*to_slice=*/false);
  }
  return absl::OkStatus();
}

cpu::FusedKernel Decode(const fb::FusedProgram &p) {
  cpu::FusedKernel k;
  k.shape = ShapeOf(p.shape());
  k.integer = p.integer();
  for (const fb::FusedLoad *l : *p.loads()) k.loads.push_back({l->operand(), ShapeOf(l->strides())});
  for (const fb::FusedStep *s : *p.steps())
    k.steps.push_back({static_cast<cpu::EwOp>(s->op()), s->a(), s->b(), s->c(), s->imm()});
  k.outputs.assign(p.outputs()->begin(), p.outputs()->end());
  return k;
}

}  // namespace

// One rank: its program, its copy of the parameters and optimizer state,
// its arena, and its communicator. Data-parallel ranks hold identical
// parameters (same init, same averaged updates).
struct Rank {
  int index = 0;  // the rank in the mesh: d * tp + t
  int d = 0, t = 0;  // its data-parallel and tensor-parallel coordinates
  std::vector<int> coord;  // per mesh axis (the grid axes of the collectives)
  const fb::RankProgram *prog = nullptr;
  std::vector<Tensor> params, states;
  std::unique_ptr<uint8_t, AlignedFree> arena;
  std::vector<cpu::FusedKernel> fused;  // per instruction; empty unless Fused
  std::vector<void *> ptr;              // value id -> its bytes, set per run
  // Per mesh axis: the group of ranks that differ only in that coordinate;
  // null where the axis has one rank (the collective is then the identity).
  std::vector<std::unique_ptr<Communicator>> comms;
  std::vector<int64_t> calls;           // per instruction, when profiling
  std::vector<double> seconds;

  const fb::ValueDesc &Value(uint32_t id) const { return *prog->values()->Get(id); }
  DType TypeOf(uint32_t id) const { return static_cast<DType>(Value(id).dtype()); }
  absl::Status Execute(const fb::Instruction &in, size_t index);
  absl::Status RunAll(bool profiling);
  Communicator *CommOf(int64_t axis) const {
    return axis >= 0 && axis < static_cast<int64_t>(comms.size()) ? comms[axis].get() : nullptr;
  }
  int CoordOf(int64_t axis) const {
    return axis >= 0 && axis < static_cast<int64_t>(coord.size()) ? coord[axis] : 0;
  }
  int SizeOf(int64_t axis) const {
    const Communicator *c = CommOf(axis);
    return c ? c->size() : 1;
  }
};

struct Program::Impl {
  std::shared_ptr<const artifact::Artifact> art;
  std::vector<Rank> ranks;
  std::vector<Tensor> constants;  // shared by the ranks, read only
  bool profiling = false;
  int threads_per_rank = 0;
  int num_ranks = 1;         // of the mesh; more than ranks.size() under MPI
  int dp = 1, tp = 1;        // the mesh's axes: num_ranks = dp * tp
  Communicator *process_comm = nullptr;  // under MPI: this process's rank's
  // Under MPI: the world on a 2-D mesh (the axes' groups are the ranks'), and
  // this rank's group along dp (gathered outputs, ZeRO state) and along tp
  // (split parameters), null where the mesh lacks the axis.
  std::unique_ptr<Communicator> world;
  Communicator *dp_comm = nullptr, *tp_comm = nullptr;
};

// Tensor i (a parameter or, `is_state`, optimizer state) whole from the
// ranks' pieces: under ZeRO-1 (`flat`) each tp slice is first gathered over
// dp, then the tp slices (when `dim` >= 0) are laid in place. Under MPI these
// are collectives (every process calls this); in process, plain copies.
// (A template so that it can take the private Program::Impl.)
template <class Impl>
absl::StatusOr<Tensor> Whole(const Impl &m, const TensorInfo &info, bool is_state, size_t i,
                             const SplitView &view, bool flat) {
  const int dim = view.dim;
  const Tensor &mine = (is_state ? m.ranks[0].states : m.ranks[0].params)[i];
  const int parts = dim >= 0 ? m.tp : 1;
  const size_t piece = mine.byte_size();                     // one rank's bytes
  const size_t slice = piece * (flat ? m.dp : 1);             // a tp slice, whole over dp
  const size_t element = DTypeSize(info.dtype);
  std::vector<char> slices(slice * parts);
  if (m.process_comm != nullptr) {
    std::vector<char> local(flat ? slice : 0);
    const void *src = mine.data();
    if (flat) {
      if (absl::Status s = m.dp_comm->AllGather(mine.data(), local.data(), mine.num_elements(), info.dtype);
          !s.ok())
        return s;
      src = local.data();
    }
    if (dim >= 0) {
      if (absl::Status s = m.tp_comm->AllGather(src, slices.data(), slice / element, info.dtype); !s.ok())
        return s;
    } else {
      std::memcpy(slices.data(), src, slice);
    }
  } else {
    for (const Rank &r : m.ranks) {
      if ((!flat && r.d != 0) || (dim < 0 && r.t != 0)) continue;  // a copy of one already taken
      std::memcpy(slices.data() + (dim >= 0 ? r.t : 0) * slice + (flat ? r.d * piece : 0),
                  (is_state ? r.states : r.params)[i].data(), piece);
    }
  }
  Tensor whole(info.dtype, info.shape);
  if (dim < 0) {
    std::memcpy(whole.data(), slices.data(), slice);
  } else {
    for (int t = 0; t < m.tp; ++t)
      CopySlice(whole.data(), slices.data() + t * slice, view.shape, dim, t, m.tp, element,
                /*to_slice=*/false);
  }
  return whole;
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const RuntimeOptions &options) {
  // The cuda backend says in one line why it cannot run (runtime/cuda/backend.h).
  if (options.backend == "cuda") return cuda::BackendStatus();
  if (options.backend != "cpu")
    return absl::InvalidArgumentError(
        StrCat("unknown backend '", options.backend, "'; expected cpu or cuda"));
  if (options.communicator != "auto" && options.communicator != "inprocess" &&
      options.communicator != "mpi")
    return absl::InvalidArgumentError(StrCat("unknown communicator '", options.communicator,
                                             "'; expected auto, inprocess or mpi"));
  RuntimeOptions resolved = options;
  if (resolved.communicator == "auto")
    resolved.communicator = LaunchedUnderMpi() ? "mpi" : "inprocess";
  int threads = options.threads;
  if (resolved.communicator == "mpi") {
    auto comm = CreateMpiCommunicator(options.collective_timeout_s);  // initialises MPI once
    if (!comm.ok()) return comm.status();
    // The processes on one node share its cores.
    const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const int per_node = local ? std::max(1, std::atoi(local)) : 1;
    if (threads <= 0)
      threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / per_node);
  }
  if (threads > 0) omp_set_num_threads(threads);
  return std::unique_ptr<Runtime>(new Runtime(resolved));
}

absl::StatusOr<std::unique_ptr<Program>> Runtime::Load(const std::string &path) {
  auto art = artifact::ReadArtifactFile(path);
  if (!art.ok()) return art.status();
  return LoadFromBytes((*art)->bytes, path);
}

absl::StatusOr<std::unique_ptr<Program>> Runtime::LoadFromBytes(std::string bytes,
                                                                const std::string &name) {
  auto art = artifact::ParseArtifact(std::move(bytes), name);
  if (!art.ok()) return art.status();
  auto impl = std::make_unique<Program::Impl>();
  impl->art = *art;
  const fb::Artifact &a = *impl->art->root;
  const int num_ranks = static_cast<int>(a.ranks()->size());
  // Refuse what this machine cannot hold before allocating any of it.
  uint64_t need = 0;
  for (const fb::RankProgram *r : *a.ranks()) {
    need += r->arena_bytes();
    for (const auto *list : {a.params(), a.states()})
      if (list)
        for (const fb::ParamSpec *p : *list) {
          uint64_t n = DTypeSize(static_cast<DType>(p->tensor()->dtype()));
          for (int64_t d : *p->tensor()->shape()) n *= d;
          need += n;
        }
  }
  const uint64_t have = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (need > have)
    return absl::ResourceExhaustedError(StrCat(name, ": the model needs ", need,
                                               " bytes for parameters and activations on ",
                                               num_ranks, " rank(s); this machine has ", have));
  // Constants are copied out so that they are aligned for the kernels.
  if (a.constants())
    for (const fb::ConstantData *c : *a.constants()) {
      Tensor t(DType::kI32, {static_cast<int64_t>((c->data()->size() + 3) / 4)});
      std::memcpy(t.data(), c->data()->data(), c->data()->size());
      impl->constants.push_back(t);
    }
  // In process, every rank is a thread here; under MPI this process is one.
  // The mesh: dp outer, tp inner (rank = d * tp + t), as the compiler orders it.
  std::vector<std::string> axis_names;
  std::vector<int> extent;
  if (a.mesh())
    for (const fb::MeshAxis *m : *a.mesh()) {
      axis_names.push_back(m->name()->str());
      extent.push_back(static_cast<int>(m->size()));
      (axis_names.back() == "tp" ? impl->tp : impl->dp) = extent.back();
    }
  if (impl->dp * impl->tp != num_ranks)
    return absl::InvalidArgumentError(
        StrCat(name, ": the mesh has ", impl->dp * impl->tp, " ranks but the artifact ", num_ranks));
  // Axis k's stride in the rank number (row-major: the last axis innermost).
  std::vector<int> stride(extent.size(), 1);
  for (int k = static_cast<int>(extent.size()) - 2; k >= 0; --k) stride[k] = stride[k + 1] * extent[k + 1];
  // Per local rank, its communicator for each mesh axis.
  std::vector<std::vector<std::unique_ptr<Communicator>>> comms;
  std::vector<int> local;
  if (options_.communicator == "mpi") {
    auto comm = CreateMpiCommunicator(options_.collective_timeout_s);
    if (!comm.ok()) return comm.status();
    if ((*comm)->size() != num_ranks)
      return absl::FailedPreconditionError(
          StrCat(name, " is compiled for ", num_ranks, num_ranks == 1 ? " rank" : " ranks", " but ",
                 (*comm)->size(), " MPI processes were started; run it with mpirun -np ",
                 num_ranks));
    const int r = (*comm)->rank();
    local = {r};
    comms.resize(1);
    if (extent.size() <= 1) {
      comms[0].push_back(std::move(*comm));
    } else {  // one sub-communicator per axis: the processes that differ only there
      impl->world = std::move(*comm);
      for (size_t k = 0; k < extent.size(); ++k) {
        const int coord = (r / stride[k]) % extent[k];
        auto sub = CreateMpiSubCommunicator(r - coord * stride[k], coord, options_.collective_timeout_s);
        if (!sub.ok()) return sub.status();
        comms[0].push_back(std::move(*sub));
      }
    }
  } else {
    for (int r = 0; r < num_ranks; ++r) local.push_back(r);
    comms.resize(num_ranks);
    for (auto &c : comms) c.resize(extent.size());
    // One in-process group per axis and per value of the other coordinates.
    for (size_t k = 0; k < extent.size(); ++k) {
      if (extent[k] == 1) continue;
      for (int r = 0; r < num_ranks; ++r) {
        if ((r / stride[k]) % extent[k] != 0) continue;  // r leads its group
        auto group = CreateInProcessGroup(extent[k], options_.collective_timeout_s);
        for (int i = 0; i < extent[k]; ++i) comms[r + i * stride[k]][k] = std::move(group[i]);
      }
    }
  }
  impl->num_ranks = num_ranks;
  impl->ranks.resize(local.size());
  for (size_t l = 0; l < local.size(); ++l) {
    const int r = local[l];
    Rank &rank = impl->ranks[l];
    rank.index = r;
    rank.d = r / impl->tp;
    rank.t = r % impl->tp;
    for (size_t k = 0; k < extent.size(); ++k) rank.coord.push_back((r / stride[k]) % extent[k]);
    rank.prog = a.ranks()->Get(r);
    for (const fb::ParamSpec *p : *a.params()) {
      TensorInfo info = InfoOf(*p->tensor());
      if (p->split_dim() >= 0) info.shape[p->split_dim()] /= impl->tp;  // this rank's slice
      rank.params.emplace_back(info.dtype, info.shape);
    }
    if (a.states())
      for (const fb::ParamSpec *p : *a.states()) {
        TensorInfo info = InfoOf(*p->tensor());
        if (p->split_dim() >= 0) info.shape[p->split_dim()] /= impl->tp;  // like its parameter
        if (p->split()) {  // ZeRO-1: this rank's contiguous slice of that, flattened
          int64_t n = 1;
          for (int64_t d : info.shape) n *= d;
          info.shape = {n / impl->dp};
        }
        rank.states.emplace_back(info.dtype, info.shape);
      }
    size_t arena = std::max<uint64_t>(rank.prog->arena_bytes(), 64);
    rank.arena.reset(static_cast<uint8_t *>(std::aligned_alloc(64, (arena + 63) / 64 * 64)));
    PoisonIfAsked(rank.arena.get(), arena);
    if (!rank.arena) return absl::ResourceExhaustedError(StrCat("cannot allocate ", arena, " bytes"));
    for (const fb::Instruction *in : *rank.prog->instructions())
      rank.fused.push_back(in->op() == fb::Opcode::Fused ? Decode(*in->fused()) : cpu::FusedKernel());
    rank.ptr.resize(rank.prog->values()->size());
    rank.comms = std::move(comms[l]);
  }
  if (options_.communicator == "mpi") {
    Rank &me = impl->ranks[0];
    impl->process_comm = impl->world ? impl->world.get() : me.comms[0].get();
    for (size_t k = 0; k < axis_names.size(); ++k)
      (axis_names[k] == "tp" ? impl->tp_comm : impl->dp_comm) = me.comms[k].get();
  }
  // Ranks on threads share the cores rather than each taking them all.
  impl->threads_per_rank = std::max(
      1, static_cast<int>(std::thread::hardware_concurrency()) / static_cast<int>(local.size()));

  std::unique_ptr<Program> program(new Program(std::move(impl)));
  for (const fb::InputSpec *in : *a.inputs()) {
    program->inputs_.push_back(InfoOf(*in->tensor()));
    program->inputs_.back().int_bound = in->int_bound();
  }
  for (const fb::ParamSpec *p : *a.params()) program->params_.push_back(InfoOf(*p->tensor()));
  if (a.states())
    for (const fb::ParamSpec *p : *a.states()) program->states_.push_back(InfoOf(*p->tensor()));
  const Rank &first = program->impl_->ranks[0];
  for (unsigned i = 0; i < a.outputs()->size(); ++i) {
    const fb::OutputSpec *o = a.outputs()->Get(i);
    const fb::ValueDesc &v = first.Value(first.prog->outputs()->Get(i));
    std::vector<int64_t> shape = ShapeOf(v.shape());
    if (o->gather() && !shape.empty()) shape[0] *= program->impl_->dp;
    if (o->split_dim() >= 0) shape[o->split_dim()] *= program->impl_->tp;
    program->outputs_.push_back({o->name()->str(), static_cast<DType>(v.dtype()), shape});
    if (o->is_loss()) program->loss_ = o->name()->str();
  }
  return program;
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::~Program() = default;

absl::Status Program::InitParameters(uint64_t seed) {
  const fb::Artifact &a = *impl_->art->root;
  for (Rank &rank : impl_->ranks) {
    for (unsigned i = 0; i < a.params()->size(); ++i) {
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

int Program::num_ranks() const { return impl_->num_ranks; }
int Program::process_rank() const { return impl_->ranks[0].index; }

void Program::AbortJob(const std::string &why) {
  if (impl_->process_comm != nullptr) impl_->process_comm->Abort(why);
}

int64_t Program::step() const {
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == "optimizer.step")
      return static_cast<int64_t>(impl_->ranks[0].states[i].data_as<float>()[0]);
  return 0;
}

absl::Status Program::SetParameter(const std::string &name, const Tensor &value) {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name != name) continue;
    if (value.dtype() != params_[i].dtype || value.shape() != params_[i].shape)
      return absl::InvalidArgumentError(
          StrCat("parameter '", name, "' is ", DTypeName(params_[i].dtype),
                 ShapeString(params_[i].shape), ", got ", value.DebugString()));
    const SplitView view = ViewOf(params_[i].shape, *impl_->art->root->params()->Get(i));
    for (Rank &rank : impl_->ranks) {
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
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name != name) continue;
    const SplitView view = ViewOf(params_[i].shape, *impl_->art->root->params()->Get(i));
    if (view.dim < 0) return impl_->ranks[0].params[i].Clone();
    if (impl_->process_comm != nullptr)
      return absl::UnimplementedError("reading a tensor-parallel parameter under MPI: use SaveParameters");
    Tensor whole(params_[i].dtype, params_[i].shape);
    for (Rank &r : impl_->ranks)
      if (r.d == 0)
        CopySlice(whole.data(), r.params[i].data(), view.shape, view.dim, r.t, impl_->tp,
                  DTypeSize(params_[i].dtype), /*to_slice=*/false);
    return whole;
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].name != name) continue;
    const fb::ParamSpec &spec = *impl_->art->root->states()->Get(i);
    if (!spec.split() && spec.split_dim() < 0) return impl_->ranks[0].states[i].Clone();
    if (impl_->process_comm != nullptr)
      return absl::UnimplementedError("reading split optimizer state under MPI: use SaveParameters");
    return Whole(*impl_, states_[i], /*is_state=*/true, i, ViewOf(states_[i].shape, spec),
                 spec.split());
  }
  return absl::NotFoundError(StrCat("the model has no parameter '", name, "'"));
}

absl::Status Program::LoadParameters(const std::string &path, bool with_state) {
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
      for (Rank &rank : impl_->ranks)
        TakePiece(it->second, (is_state ? rank.states : rank.params)[i], view.shape, view.dim, split,
                  rank.d, rank.t, impl_->tp);
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
  io::Safetensors file;
  // Every rank holds the same parameters; rank 0 speaks for them. ZeRO-1
  // state is gathered from the ranks' slices (a collective under MPI, so
  // every process calls this; only rank 0 writes).
  const fb::Artifact &a = *impl_->art->root;
  const Rank &rank = impl_->ranks[0];
  for (size_t i = 0; i < params_.size(); ++i) {
    const int dim = a.params()->Get(i)->split_dim();
    if (dim < 0) {
      file.tensors[params_[i].name] = rank.params[i];
      continue;
    }
    auto whole = Whole(*impl_, params_[i], /*is_state=*/false, i,
                       ViewOf(params_[i].shape, *a.params()->Get(i)), /*flat=*/false);
    if (!whole.ok()) return whole.status();
    file.tensors[params_[i].name] = *whole;
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    const fb::ParamSpec &spec = *a.states()->Get(i);
    if (!spec.split() && spec.split_dim() < 0) {
      file.tensors[states_[i].name] = rank.states[i];
      continue;
    }
    auto whole = Whole(*impl_, states_[i], /*is_state=*/true, i, ViewOf(states_[i].shape, spec),
                       spec.split());
    if (!whole.ok()) return whole.status();
    file.tensors[states_[i].name] = *whole;
  }
  if (process_rank() != 0) return absl::OkStatus();
  file.metadata["format"] = "pt";  // what other safetensors readers expect
  file.metadata["weft.source"] = impl_->art->root->source() ? impl_->art->root->source()->str() : "";
  return io::WriteSafetensors(path, file);
}

void Program::set_profiling(bool on) {
  impl_->profiling = on;
  for (Rank &rank : impl_->ranks) {
    rank.calls.assign(rank.prog->instructions()->size(), 0);
    rank.seconds.assign(rank.prog->instructions()->size(), 0.0);
  }
}

std::vector<InstructionProfile> Program::profile() const {

  std::vector<InstructionProfile> out;
  const Rank &rank = impl_->ranks[0];  // rank 0's clock; the others run the same list
  const auto &instructions = *rank.prog->instructions();
  for (size_t i = 0; i < rank.calls.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    out.push_back({artifact::OpcodeName(in.op()), in.name() ? in.name()->str() : "",
                   in.loc() ? in.loc()->str() : "", rank.calls[i], rank.seconds[i]});
  }
  return out;
}

// Per device (rank 0): what one device of the mesh must hold.
int64_t Program::arena_bytes() const { return impl_->ranks[0].prog->arena_bytes(); }
int64_t Program::parameter_bytes() const {
  int64_t n = 0;
  for (const Tensor &t : impl_->ranks[0].params) n += t.byte_size();
  return n;
}
int64_t Program::peak_bytes() const {
  int64_t n = arena_bytes() + parameter_bytes();
  for (const Tensor &t : impl_->ranks[0].states) n += t.byte_size();
  // Inputs and outputs as one device holds them (its slice of split ones).
  for (const auto *list : {&inputs_, &outputs_})
    for (const TensorInfo &t : *list) {
      int64_t elements = 1;
      for (int64_t d : t.shape) elements *= d;
      n += elements * DTypeSize(t.dtype) / impl_->dp;  // split over dp
    }
  return n;
}

absl::StatusOr<std::map<std::string, Tensor>> Program::Run(
    const std::map<std::string, Tensor> &inputs) {
  Impl &m = *impl_;
  const fb::Artifact &a = *m.art->root;
  const int dp = m.dp;  // inputs and gathered outputs are split over dp
  const bool distributed = m.process_comm != nullptr;  // other ranks in other processes
  std::vector<const Tensor *> bound(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    auto it = inputs.find(inputs_[i].name);
    if (it == inputs.end())
      return absl::InvalidArgumentError(StrCat("missing input '", inputs_[i].name, "' (",
                                               DTypeName(inputs_[i].dtype),
                                               ShapeString(inputs_[i].shape), ")"));
    if (it->second.dtype() != inputs_[i].dtype || it->second.shape() != inputs_[i].shape)
      return absl::InvalidArgumentError(StrCat("input '", inputs_[i].name, "' must be ",
                                               DTypeName(inputs_[i].dtype),
                                               ShapeString(inputs_[i].shape), ", got ",
                                               it->second.DebugString()));
    bound[i] = &it->second;
  }
  for (const auto &[name, t] : inputs) {
    bool known = false;
    for (const TensorInfo &in : inputs_) known |= in.name == name;
    if (!known) return absl::InvalidArgumentError(StrCat("the model has no input '", name, "'"));
  }
  // Outputs computed by an instruction are written straight into the tensors
  // returned; a gathered output gets one slice per rank. The rest (views of
  // inputs, constants, ...) are copied from rank 0 afterwards.
  // Under MPI a gathered output is this process's slice, all-gathered
  // after the run.
  std::vector<Tensor> out_tensors(outputs_.size()), slices(outputs_.size());
  std::vector<std::vector<Tensor>> per_rank(outputs_.size());
  // In one process, an output written by tensor-parallel ranks other than
  // t = 0 repeats t = 0's; it goes to scratch.
  std::vector<std::vector<Tensor>> scratch(outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Rank &first = m.ranks[0];
    const fb::ValueDesc &v = first.Value(first.prog->outputs()->Get(i));
    if (v.storage() != fb::Storage::Output || v.index() != i) continue;
    const bool gather = a.outputs()->Get(i)->gather();
    if (a.outputs()->Get(i)->split_dim() >= 0 && m.num_ranks > 1) {
      // Tensor-parallel slices, assembled after the run.
      for (size_t l = 0; l < m.ranks.size(); ++l)
        per_rank[i].push_back(Tensor::Uninitialized(outputs_[i].dtype, ShapeOf(v.shape())));
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
    } else if (gather && distributed) {
      slices[i] = Tensor::Uninitialized(outputs_[i].dtype, ShapeOf(v.shape()));
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
    } else if (gather || m.ranks.size() == 1) {
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
    } else {
      for (size_t l = 0; l < m.ranks.size(); ++l)
        per_rank[i].push_back(Tensor::Uninitialized(outputs_[i].dtype, ShapeOf(v.shape())));
      out_tensors[i] = per_rank[i][0];
    }
  }
  for (size_t l = 0; l < m.ranks.size(); ++l) {
    Rank &rank = m.ranks[l];
    for (uint32_t id = 0; id < rank.prog->values()->size(); ++id) {
      const fb::ValueDesc &v = rank.Value(id);
      switch (v.storage()) {
        case fb::Storage::Input: {
          // A split input: this rank's slice of dimension 0.
          const Tensor &t = *bound[v.index()];
          const size_t slice = a.inputs()->Get(v.index())->split() ? t.byte_size() / dp : 0;
          rank.ptr[id] = static_cast<char *>(const_cast<void *>(t.data())) + rank.d * slice;
          break;
        }
        case fb::Storage::Param: rank.ptr[id] = rank.params[v.index()].data(); break;
        case fb::Storage::State: rank.ptr[id] = rank.states[v.index()].data(); break;
        case fb::Storage::Constant: rank.ptr[id] = m.constants[v.index()].data(); break;
        case fb::Storage::Arena: rank.ptr[id] = rank.arena.get() + v.index(); break;
        case fb::Storage::Output: {
          const size_t o = v.index();
          if (!slices[o].empty()) {
            rank.ptr[id] = slices[o].data();
          } else if (!per_rank[o].empty()) {
            rank.ptr[id] = per_rank[o][l].data();
          } else if (rank.t != 0 && m.ranks.size() > 1) {
            // Threads of one process: t = 0 writes the returned tensor and
            // the others, holding the same values, write aside rather than
            // racing it. A process that runs one rank (MPI) owns its tensor.
            scratch[o].push_back(Tensor::Uninitialized(outputs_[o].dtype, ShapeOf(v.shape())));
            rank.ptr[id] = scratch[o].back().data();
          } else {
            // A gathered output: this rank's slice of dimension 0.
            const bool gather = a.outputs()->Get(o)->gather() && dp > 1;
            const size_t slice = gather ? out_tensors[o].byte_size() / dp : 0;
            rank.ptr[id] = static_cast<char *>(out_tensors[o].data()) + rank.d * slice;
          }
          break;
        }
      }
    }
  }
  absl::Status status;
  if (m.ranks.size() == 1) {
    status = m.ranks[0].RunAll(m.profiling);
    // Under MPI the other ranks may be waiting for this one in a collective:
    // this process reports the cause and ends the job (MPI_Abort).
    if (!status.ok() && distributed)
      m.process_comm->Abort(StrCat("rank ", m.ranks[0].index, ": ", status.message()));
  } else {
    std::vector<absl::Status> statuses(m.ranks.size());
    std::vector<std::thread> threads;
    for (size_t l = 0; l < m.ranks.size(); ++l)
      threads.emplace_back([&, l] {
        omp_set_num_threads(m.threads_per_rank);
        statuses[l] = m.ranks[l].RunAll(m.profiling);
        // A failed rank releases the others from its groups' collectives
        // rather than leaving them waiting (the program is dead after this).
        if (!statuses[l].ok())
          for (auto &c : m.ranks[l].comms)
            if (c) c->Abort(StrCat("rank ", m.ranks[l].index, " failed: ", statuses[l].message()));
      });
    for (std::thread &t : threads) t.join();
    // Report the cause: a rank that failed by itself, not one that gave up
    // because another did.
    for (bool cause : {true, false})
      for (size_t l = 0; l < m.ranks.size() && status.ok(); ++l)
        if (!statuses[l].ok() && (!cause || !absl::IsAborted(statuses[l])))
          status = absl::Status(statuses[l].code(),
                                StrCat("rank ", m.ranks[l].index, ": ", statuses[l].message()));
  }
  if (!status.ok()) return status;
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (const int dim = a.outputs()->Get(i)->split_dim(); dim >= 0 && m.num_ranks > 1)
      if (absl::Status s = AssembleSplit(per_rank[i], dim, a.outputs()->Get(i)->gather(), m.dp,
                                         m.tp, m.process_comm, out_tensors[i]);
          !s.ok())
        return s;
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (!slices[i].empty())
      if (absl::Status s = m.dp_comm->AllGather(slices[i].data(), out_tensors[i].data(),
                                                     slices[i].num_elements(), outputs_[i].dtype);
          !s.ok())
        return s;
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (out_tensors[i].empty()) {
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
      std::memcpy(out_tensors[i].data(), m.ranks[0].ptr[m.ranks[0].prog->outputs()->Get(i)],
                  out_tensors[i].byte_size());
    }
    out[outputs_[i].name] = out_tensors[i];
  }
  return out;
}

absl::Status Rank::RunAll(bool profiling) {
  const auto &instructions = *prog->instructions();
  for (size_t i = 0; i < instructions.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    const auto start =
        profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    absl::Status s = Execute(in, i);
    if (profiling) {
      calls[i] += 1;
      seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!s.ok())
      return absl::Status(s.code(), StrCat(in.loc() ? in.loc()->str() : "?", ": ",
                                           in.name() ? in.name()->str() : "?", ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status Rank::Execute(const fb::Instruction &in, size_t index) {
  auto op = [&](unsigned k) { return ptr[in.operands()->Get(k)]; };
  auto f_op = [&](unsigned k) { return static_cast<const float *>(op(k)); };
  auto res = [&](unsigned k) { return ptr[in.results()->Get(k)]; };
  auto f_res = [&](unsigned k) { return static_cast<float *>(res(k)); };
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  auto F = [&](unsigned k) { return in.floats()->Get(k); };
  switch (in.op()) {
    case fb::Opcode::Fused: {
      std::vector<const void *> ops;
      std::vector<DType> op_types;
      for (uint32_t id : *in.operands()) {
        ops.push_back(ptr[id]);
        op_types.push_back(TypeOf(id));
      }
      std::vector<void *> outs;
      std::vector<DType> out_types;
      for (uint32_t id : *in.results()) {
        outs.push_back(ptr[id]);
        out_types.push_back(TypeOf(id));
      }
      cpu::RunFused(fused[index], ops, op_types, outs, out_types);
      return absl::OkStatus();
    }
    case fb::Opcode::Copy: {
      const fb::CopySpec &c = *in.copy();
      cpu::CopyStrided(op(0), c.src_offset(), ShapeOf(c.src_strides()), res(0), c.dst_offset(),
                       ShapeOf(c.dst_strides()), ShapeOf(c.shape()),
                       DTypeSize(TypeOf(in.operands()->Get(0))));
      return absl::OkStatus();
    }
    case fb::Opcode::Cast:
      cpu::Cast(op(0), TypeOf(in.operands()->Get(0)), res(0), TypeOf(in.results()->Get(0)), I(0));
      return absl::OkStatus();
    case fb::Opcode::Matmul:
      cpu::Matmul(f_op(0), f_op(1), f_res(0), I(0), I(1), I(2), I(3), I(4), I(5), I(6));
      return absl::OkStatus();
    case fb::Opcode::Reduce: {
      std::vector<int64_t> shape = ShapeOf(Value(in.operands()->Get(0)).shape());
      std::vector<bool> mask;
      for (size_t d = 0; d < shape.size(); ++d) mask.push_back(I(1 + d) != 0);
      auto kind = static_cast<cpu::ReduceKind>(I(0));
      DType t = TypeOf(in.operands()->Get(0));
      if (t == DType::kF32)
        cpu::Reduce(f_op(0), f_res(0), shape, mask, kind);
      else
        cpu::ReduceInt(op(0), res(0), t, shape, mask, kind);
      return absl::OkStatus();
    }
    case fb::Opcode::Softmax:
      cpu::Softmax(f_op(0), f_res(0), I(0), I(1), I(2));
      return absl::OkStatus();
    case fb::Opcode::LayerNorm:
      cpu::LayerNorm(f_op(0), f_op(1), f_op(2), f_res(0), I(0), I(1), F(0));
      return absl::OkStatus();
    case fb::Opcode::RmsNorm:
      cpu::RmsNorm(f_op(0), f_op(1), f_res(0), I(0), I(1), F(0));
      return absl::OkStatus();
    case fb::Opcode::Embedding: {
      // A vocabulary shard: this rank's rows begin at its coordinate times
      // the shard's size.
      const int64_t axis = in.ints()->size() > 3 ? I(3) : -1;
      return cpu::Embedding(f_op(0), I(0), I(1), op(1), TypeOf(in.operands()->Get(1)), I(2),
                            f_res(0), axis < 0 ? 0 : CoordOf(axis) * I(0),
                            axis < 0 ? 0 : SizeOf(axis) * I(0));
    }
    case fb::Opcode::Attention:
      cpu::Attention(f_op(0), f_op(1), f_op(2), f_res(0), I(0), I(1), I(2), I(3), I(4), I(5),
                     I(6) != 0, F(0));
      return absl::OkStatus();
    case fb::Opcode::CrossEntropy:
      return cpu::CrossEntropy(f_op(0), op(1), TypeOf(in.operands()->Get(1)), I(0), I(1),
                               f_res(0));
    case fb::Opcode::Pad: {
      const fb::CopySpec &c = *in.copy();
      const fb::ValueDesc &r = Value(in.results()->Get(0));
      int64_t n = 1;
      for (int64_t d : *r.shape()) n *= d;
      std::memset(res(0), 0, n * DTypeSize(TypeOf(in.results()->Get(0))));
      cpu::CopyStrided(op(0), c.src_offset(), ShapeOf(c.src_strides()), res(0), c.dst_offset(),
                       ShapeOf(c.dst_strides()), ShapeOf(c.shape()),
                       DTypeSize(TypeOf(in.operands()->Get(0))));
      return absl::OkStatus();
    }
    case fb::Opcode::SoftmaxGrad:
      cpu::SoftmaxGrad(f_op(0), f_op(1), f_res(0), I(0), I(1), I(2));
      return absl::OkStatus();
    case fb::Opcode::LayerNormGrad:
      cpu::LayerNormGrad(f_op(0), f_op(1), f_op(2), f_res(0), f_res(1), f_res(2), I(0), I(1),
                         F(0));
      return absl::OkStatus();
    case fb::Opcode::RmsNormGrad:
      cpu::RmsNormGrad(f_op(0), f_op(1), f_op(2), f_res(0), f_res(1), I(0), I(1), F(0));
      return absl::OkStatus();
    case fb::Opcode::EmbeddingGrad: {
      const int64_t axis = in.ints()->size() > 3 ? I(3) : -1;
      return cpu::EmbeddingGrad(op(0), TypeOf(in.operands()->Get(0)), f_op(1), f_res(0), I(0),
                                I(1), I(2), axis < 0 ? 0 : CoordOf(axis) * I(0),
                                axis < 0 ? 0 : SizeOf(axis) * I(0));
    }
    case fb::Opcode::VocabShardStats:
      return cpu::VocabShardStats(f_op(0), op(1), TypeOf(in.operands()->Get(1)), f_op(2),
                                  f_res(0), I(0), I(1), CoordOf(I(2)) * I(1), SizeOf(I(2)) * I(1));
    case fb::Opcode::VocabShardStatsGrad:
      return cpu::VocabShardStatsGrad(f_op(0), op(1), TypeOf(in.operands()->Get(1)), f_op(2),
                                      f_op(3), f_res(0), I(0), I(1), CoordOf(I(2)) * I(1),
                                      SizeOf(I(2)) * I(1));
    case fb::Opcode::AttentionGrad:
      cpu::AttentionGrad(f_op(0), f_op(1), f_op(2), f_op(3), f_res(0), f_res(1), f_res(2), I(0),
                         I(1), I(2), I(3), I(4), I(5), I(6) != 0, F(0));
      return absl::OkStatus();
    case fb::Opcode::CrossEntropyGrad:
      return cpu::CrossEntropyGrad(f_op(0), op(1), TypeOf(in.operands()->Get(1)), f_op(2),
                                   f_res(0), I(0), I(1));
    case fb::Opcode::SgdUpdate:
      cpu::SgdUpdate(f_op(0), f_op(1), f_op(2), f_op(3)[0], f_res(0), f_res(1), I(0), F(0), F(1),
                     F(2));
      return absl::OkStatus();
    case fb::Opcode::AdamwUpdate:
      cpu::AdamwUpdate(f_op(0), f_op(1), f_op(2), f_op(3), f_op(4)[0], f_res(0), f_res(1),
                       f_res(2), I(0), F(0), F(1), F(2), F(3), F(4));
      return absl::OkStatus();
    case fb::Opcode::ReduceScatter: {
      // ints: kind, n, [outer,] axis: slice r is a column range of [outer, rest].
      const DType t = TypeOf(in.operands()->Get(0));
      const int64_t n = I(1), outer = in.ints()->size() == 4 ? I(2) : 1;
      Communicator *comm = CommOf(in.ints()->Get(in.ints()->size() - 1));
      const int parts = comm ? comm->size() : 1;
      const void *send = op(0);
      std::vector<char> packed;
      if (outer > 1 && parts > 1) {
        packed.resize(parts * n * DTypeSize(t));
        PackSlices(op(0), packed.data(), outer, parts, n / outer * DTypeSize(t));
        send = packed.data();
      }
      if (!comm) {
        std::memcpy(res(0), send, n * DTypeSize(t));
        return absl::OkStatus();
      }
      return comm->ReduceScatter(send, res(0), n, t, static_cast<ReduceKind>(I(0)));
    }
    case fb::Opcode::AllSlice: {
      // ints: n, [outer,] axis: this rank's column range of every row.
      const bool rows = in.ints()->size() == 3;
      const int64_t outer = rows ? I(1) : 1;
      const int64_t axis = I(rows ? 2 : 1);
      const int parts = CommOf(axis) ? CommOf(axis)->size() : 1;
      const size_t width = I(0) / outer * DTypeSize(TypeOf(in.operands()->Get(0)));
      const char *src = static_cast<const char *>(op(0)) + CoordOf(axis) * width;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(static_cast<char *>(res(0)) + o * width, src + o * parts * width, width);
      return absl::OkStatus();
    }
    case fb::Opcode::AllGather: {
      // ints: n, [outer,] axis: the ranks' slices become column ranges.
      const DType t = TypeOf(in.operands()->Get(0));
      const bool rows = in.ints()->size() == 3;
      const int64_t n = I(0), outer = rows ? I(1) : 1;
      Communicator *comm = CommOf(I(rows ? 2 : 1));
      if (!comm) {
        std::memcpy(res(0), op(0), n * DTypeSize(t));
        return absl::OkStatus();
      }
      if (outer == 1) return comm->AllGather(op(0), res(0), n, t);
      std::vector<char> slices(comm->size() * n * DTypeSize(t));
      if (absl::Status s = comm->AllGather(op(0), slices.data(), n, t); !s.ok()) return s;
      UnpackSlices(slices.data(), res(0), outer, comm->size(), n / outer * DTypeSize(t));
      return absl::OkStatus();
    }
    case fb::Opcode::AllToAll: {
      // ints: n, split outer, concat outer, axis: slice j of the operand goes
      // to rank j; the piece from rank i is slice i of the result.
      const DType t = TypeOf(in.operands()->Get(0));
      const int64_t n = I(0), bytes = DTypeSize(t);
      Communicator *comm = CommOf(I(3));
      if (!comm) {
        std::memcpy(res(0), op(0), n * bytes);
        return absl::OkStatus();
      }
      const int parts = comm->size();
      std::vector<char> send(parts * n * bytes), recv(parts * n * bytes);
      PackSlices(op(0), send.data(), I(1), parts, n / I(1) * bytes);
      if (absl::Status s = comm->AllToAll(send.data(), recv.data(), n, t); !s.ok()) return s;
      UnpackSlices(recv.data(), res(0), I(2), parts, n / I(2) * bytes);
      return absl::OkStatus();
    }
    case fb::Opcode::AllReduce: {
      Communicator *comm = CommOf(I(2));
      if (!comm) {  // one device: the reduction over one rank is the identity
        if (res(0) != op(0)) std::memcpy(res(0), op(0), I(1) * DTypeSize(TypeOf(in.operands()->Get(0))));
        return absl::OkStatus();
      }
      return comm->AllReduce(op(0), res(0), I(1), TypeOf(in.operands()->Get(0)),
                             static_cast<ReduceKind>(I(0)));
    }
  }
  return absl::InternalError("unknown opcode");
}

}  // namespace weft

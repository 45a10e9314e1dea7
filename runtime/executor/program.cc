// Runtime and Program: loading an artifact and running each rank's
// instruction list on the CPU backend (parameters: parameters.cc).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/holdings.h"
#include "runtime/artifact/names.h"
#include "runtime/cpu/bf16_inputs.h"
#include "runtime/cpu/gemm_epilogue.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/optimizers.h"
#include "runtime/cpu/vocab_shard.h"
#include "runtime/cuda/backend.h"
#include "runtime/executor/blocks.h"
#include "runtime/executor/chrome_trace.h"
#include "runtime/executor/clock_sync.h"
#include "runtime/executor/program_impl.h"
#include "runtime/poison.h"

namespace weft {
namespace {

using absl::StrCat;

// A tensor-parallel output (split along `dim` over tp, and along dimension 0
// over dp when `gather`) from the ranks' slices: `local` holds the slices of
// this process's ranks, all of them in process; under MPI (`world` set) this
// rank's, all-gathered first. `coords` gives each slice's (p, d, t): the
// pipeline's first stage speaks for the others, which hold the same values.
absl::Status AssembleSplit(const std::vector<Tensor> &local,
                           const std::vector<std::array<int, 3>> &coords, int dim, bool gather,
                           int dp, int tp, Communicator *world, Tensor &out) {
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
    const auto [p, d, t] = coords[r];
    if (p != 0 || (!gather && d != 0)) continue;  // a replica of p = 0, d = 0's
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

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const RuntimeOptions &options) {
  RuntimeOptions resolved = options;
  std::string device_communicator;
  if (options.backend == "cuda") {
    // The devices' collectives are NCCL or cuda-inprocess; the host's side
    // (gathering outputs, saving) stays inprocess, or mpi across processes.
    const std::string &c = options.communicator;
    if (c != "auto" && c != "nccl" && c != "cuda-inprocess" && c != "mpi")
      return absl::InvalidArgumentError(
          StrCat("unknown communicator '", c, "' for the cuda backend; expected auto, nccl, "
                 "cuda-inprocess (or mpi: NCCL across the processes mpirun starts)"));
    // Without a GPU, one line that says why (runtime/cuda/backend.h).
    if (absl::Status s = cuda::BackendStatus(); !s.ok()) return s;
    device_communicator = c == "mpi" ? "nccl" : c;
    resolved.communicator = c == "mpi" || LaunchedUnderMpi() ? "mpi" : "inprocess";
  } else if (options.backend != "cpu") {
    return absl::InvalidArgumentError(
        StrCat("unknown backend '", options.backend, "'; expected cpu or cuda"));
  } else if (options.communicator == "nccl" || options.communicator == "cuda-inprocess") {
    return absl::InvalidArgumentError(StrCat("the ", options.communicator,
                                             " communicator serves the cuda backend "
                                             "(--backend=cuda); the cpu backend takes auto, "
                                             "inprocess or mpi"));
  } else if (options.communicator != "auto" && options.communicator != "inprocess" &&
             options.communicator != "mpi") {
    return absl::InvalidArgumentError(StrCat("unknown communicator '", options.communicator,
                                             "'; expected auto, inprocess or mpi"));
  }
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
  auto runtime = std::unique_ptr<Runtime>(new Runtime(resolved));
  runtime->device_communicator_ = device_communicator;
  return runtime;
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
  // The mesh: its axes outermost first, any of pp, dp, tp in that order (the
  // reader checked), the rank number row-major over them. A rank's
  // coordinate along a named axis comes from that axis's place.
  std::vector<int> &extent = impl->extent, &stride = impl->stride;
  if (a.mesh())
    for (const fb::MeshAxis *m : *a.mesh()) {
      const std::string axis = m->name()->str();
      const int k = static_cast<int>(extent.size());
      extent.push_back(static_cast<int>(m->size()));
      if (axis == "pp") impl->pp_axis = k, impl->pp = extent.back();
      if (axis == "dp") impl->dp_axis = k, impl->dp = extent.back();
      if (axis == "tp") impl->tp_axis = k, impl->tp = extent.back();
    }
  if (impl->pp * impl->dp * impl->tp != num_ranks)
    return absl::InvalidArgumentError(StrCat(name, ": the mesh has ", impl->pp * impl->dp * impl->tp,
                                             " ranks but the artifact ", num_ranks));
  // Axis k's stride in the rank number (row-major: the last axis innermost).
  stride.assign(extent.size(), 1);
  for (int k = static_cast<int>(extent.size()) - 2; k >= 0; --k) stride[k] = stride[k + 1] * extent[k + 1];
  impl->num_ranks = num_ranks;
  // Refuse what this machine cannot hold before allocating any of it: every
  // rank's arena and the parameters and state it holds (all of the ranks,
  // since the processes of an MPI job may share this machine).
  uint64_t need = 0;
  // (On cuda the arenas are on the GPUs, which check their own memory.)
  const bool host_arena = options_.backend == "cpu";
  for (int r = 0; r < num_ranks; ++r)
    need += (host_arena ? a.ranks()->Get(r)->arena_bytes() : 0) + artifact::HeldBytes(a, r, false) +
            artifact::HeldBytes(a, r, true);
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
  impl->ranks.resize(local.size());
  for (size_t l = 0; l < local.size(); ++l) {
    const int r = local[l];
    Rank &rank = impl->ranks[l];
    rank.index = r;
    rank.p = impl->Coord(r, impl->pp_axis);
    rank.d = impl->Coord(r, impl->dp_axis);
    rank.t = impl->Coord(r, impl->tp_axis);
    for (size_t k = 0; k < extent.size(); ++k) rank.coord.push_back((r / stride[k]) % extent[k]);
    rank.prog = a.ranks()->Get(r);
    // Each parameter and state tensor this rank holds (a pipeline stage only
    // its own); an empty tensor for the others.
    for (bool is_state : {false, true}) {
      const auto *specs = is_state ? a.states() : a.params();
      for (unsigned i = 0; specs && i < specs->size(); ++i) {
        const fb::ParamSpec &spec = *specs->Get(i);
        (is_state ? rank.states : rank.params)
            .push_back(artifact::Holds(a, r, i, is_state)
                           ? Tensor(static_cast<DType>(spec.tensor()->dtype()),
                                    artifact::LocalShape(a, spec, is_state))
                           : Tensor());
      }
    }
    // The cpu backend's arena (the cuda backend's is on its device).
    size_t arena = options_.backend == "cpu" ? std::max<uint64_t>(rank.prog->arena_bytes(), 64) : 64;
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
    for (auto [axis, comm] : {std::pair{impl->pp_axis, &impl->pp_comm},
                              {impl->dp_axis, &impl->dp_comm}, {impl->tp_axis, &impl->tp_comm}})
      if (axis >= 0) *comm = me.comms[axis].get();
  }
  if (options_.backend == "cuda") {
    DeviceBackendContext ctx;
    ctx.art = impl->art.get();
    ctx.ranks = &impl->ranks;
    ctx.constants = &impl->constants;
    ctx.extent = impl->extent;
    ctx.stride = impl->stride;
    ctx.mpi = options_.communicator == "mpi";
    ctx.collective_timeout_s = options_.collective_timeout_s;
    auto device = cuda::CreateCudaBackend(ctx, device_communicator_);
    if (!device.ok())
      return absl::Status(device.status().code(), StrCat(name, ": ", device.status().message()));
    impl->device = std::move(*device);
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
int Program::num_ranks() const { return impl_->num_ranks; }
int Program::process_rank() const { return impl_->ranks[0].index; }

void Program::AbortJob(const std::string &why) {
  if (impl_->process_comm != nullptr) impl_->process_comm->Abort(why);
}

void Program::set_profiling(bool on) {
  impl_->profiling = on;
  for (Rank &rank : impl_->ranks) {
    rank.calls.assign(rank.prog->instructions()->size(), 0);
    rank.seconds.assign(rank.prog->instructions()->size(), 0.0);
  }
}

absl::Status Program::set_tracing(bool on) {
  Impl &m = *impl_;
  // One clock for every rank of the job. In process the ranks are threads
  // and share this process's clock and t0. Under MPI each process has its
  // own clock: t0 is the same instant in each, found by exchanging
  // timestamps with process 0 (clock_sync.h), to within half a message's
  // round trip (microseconds on one node). Drift between the nodes' clocks
  // over a trace's few seconds (parts per million) is not corrected.
  if (!on) {
    for (Rank &rank : m.ranks) rank.trace.Stop();
    return absl::OkStatus();
  }
  int64_t t0 = trace::SteadyNowNs();
  m.clock_error_ns.clear();
  if (m.process_comm != nullptr) {
    auto aligned = trace::AlignedNow(*m.process_comm);
    if (!aligned.ok()) return aligned.status();
    t0 = aligned->now;
    m.clock_error_ns = aligned->error_ns;  // by process, which is by rank under MPI
  }
  for (Rank &rank : m.ranks) rank.trace.Start(t0);
  return absl::OkStatus();
}

absl::Status Program::WriteTrace(const std::string &path) const {
  const Impl &m = *impl_;
  std::vector<trace::Event> events;
  for (const Rank &rank : m.ranks)
    events.insert(events.end(), rank.trace.events().begin(), rank.trace.events().end());
  if (m.process_comm != nullptr) {  // one rank per process: process 0 gets them all
    auto all = trace::GatherEvents(*m.process_comm, events);
    if (!all.ok()) return all.status();
    events = std::move(*all);
  }
  if (process_rank() != 0) return absl::OkStatus();
  return trace::WriteChromeTrace(m.root(), std::move(events), m.clock_error_ns, path);
}

std::vector<InstructionProfile> Program::profile() const {

  std::vector<InstructionProfile> out;
  // Rank 0's clock: dp and tp ranks run the same list; other pipeline stages
  // run their own, not shown.
  const Rank &rank = impl_->ranks[0];
  const auto &instructions = *rank.prog->instructions();
  for (size_t i = 0; i < rank.calls.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    out.push_back({artifact::OpcodeName(in.op()), in.name() ? in.name()->str() : "",
                   in.loc() ? in.loc()->str() : "", rank.calls[i], rank.seconds[i]});
  }
  return out;
}

// Per device: what the device that needs the most must hold (pipeline
// stages differ; the other ranks are alike). Computed from the artifact, so
// that every process of an MPI job reports the same.
int64_t Program::arena_bytes() const {
  uint64_t n = 0;
  for (const fb::RankProgram *r : *impl_->root().ranks()) n = std::max(n, r->arena_bytes());
  return static_cast<int64_t>(n);
}
int64_t Program::parameter_bytes() const {
  int64_t n = 0;
  for (int r = 0; r < impl_->num_ranks; ++r) n = std::max(n, artifact::HeldBytes(impl_->root(), r, false));
  return n;
}
int64_t Program::device_peak_bytes() const {
  return impl_->device ? impl_->device->MeasuredPeakBytes() : 0;
}

int64_t Program::peak_bytes() const {
  const fb::Artifact &a = impl_->root();
  int64_t n = 0;
  for (int r = 0; r < impl_->num_ranks; ++r)
    n = std::max<int64_t>(n, a.ranks()->Get(r)->arena_bytes() + artifact::HeldBytes(a, r, false) +
                                 artifact::HeldBytes(a, r, true));
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
  // t = 0, or by pipeline stages other than the first, repeats theirs; it
  // goes to scratch.
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
    } else if (gather && distributed && dp > 1) {
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
          } else if (((rank.t != 0 || rank.p != 0) && m.ranks.size() > 1) ||
                     out_tensors[o].empty()) {
            // Threads of one process: t = 0 of the first pipeline stage
            // writes the returned tensor and the others, holding the same
            // values, write aside rather than racing it (so does a rank whose
            // output rank 0 does not write here). A process that runs one
            // rank (MPI) owns its tensor.
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
    status = m.device ? m.device->RunRank(0, m.ranks[0], m.profiling) : m.ranks[0].RunAll(m.profiling);
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
        statuses[l] = m.device ? m.device->RunRank(l, m.ranks[l], m.profiling)
                               : m.ranks[l].RunAll(m.profiling);
        // A failed rank releases the others from its groups' collectives
        // rather than leaving them waiting (the program is dead after this).
        if (!statuses[l].ok()) {
          const std::string why = StrCat("rank ", m.ranks[l].index, " failed: ", statuses[l].message());
          for (auto &c : m.ranks[l].comms)
            if (c) c->Abort(why);
          if (m.device) m.device->Abort(l, why);
        }
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
  // Each slice's coordinates for AssembleSplit: this process's ranks, or
  // under MPI every rank of the world.
  std::vector<std::array<int, 3>> coords;
  for (int r = 0; r < (distributed ? m.num_ranks : static_cast<int>(m.ranks.size())); ++r) {
    const int index = distributed ? r : m.ranks[r].index;
    coords.push_back({m.Coord(index, m.pp_axis), m.Coord(index, m.dp_axis), m.Coord(index, m.tp_axis)});
  }
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (const int dim = a.outputs()->Get(i)->split_dim(); dim >= 0 && m.num_ranks > 1)
      if (absl::Status s = AssembleSplit(per_rank[i], coords, dim, a.outputs()->Get(i)->gather(),
                                         m.dp, m.tp, m.process_comm, out_tensors[i]);
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
  const bool tracing = trace.on();
  const int64_t step_start = tracing ? trace.Now() : 0;
  for (size_t i = 0; i < instructions.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    const auto start =
        profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const int64_t trace_start = tracing ? trace.Now() : 0;
    absl::Status s = Execute(in, i);
    if (tracing) {
      const auto [track, category] = trace::CpuPlacement(in.op());
      trace.Record(index, static_cast<int32_t>(i), track, category, trace_start, trace.Now());
    }
    if (profiling) {
      calls[i] += 1;
      seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!s.ok())
      return absl::Status(s.code(), StrCat(in.loc() ? in.loc()->str() : "?", ": ",
                                           in.name() ? in.name()->str() : "?", ": ", s.message()));
  }
  // Sends overlap the instructions after them; none outlives the step.
  const int64_t finish_start = tracing ? trace.Now() : 0;
  for (const auto &comm : comms)
    if (comm)
      if (absl::Status s = comm->FinishSends(); !s.ok()) return s;
  if (tracing) {
    // The wait for this step's messages to leave (under MPI), on the comm
    // track, on a rank that sends any; then the step itself.
    bool has_sends = false;
    for (const fb::Instruction *in : instructions) has_sends |= in->op() == fb::Opcode::Send;
    if (has_sends)
      trace.Record(index, trace::kFinishSends, trace::Track::kComm, trace::Category::kP2P,
                   finish_start, trace.Now());
    trace.Record(index, trace::kNoInstruction, trace::Track::kSteps, trace::Category::kStep,
                 step_start, trace.Now());
    trace.EndStep();
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
  // The vocabulary shard along the mesh axis in int k (absent: unsplit).
  auto shard_along = [&](unsigned k, int64_t per_rank) {
    return VocabShardOf(in.ints()->size() > k ? I(k) : -1, per_rank);
  };
  // Matmul and attention's optional 8th int (--precision=bf16; absent: f32).
  auto bf16_inputs = [&]() { return in.ints()->size() > 7 && I(7) != 0; };
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
    case fb::Opcode::Matmul: {
      (bf16_inputs() ? cpu::MatmulBf16Inputs : cpu::Matmul)(f_op(0), f_op(1), f_res(0), I(0), I(1),
                                                            I(2), I(3), I(4), I(5), I(6));
      // weftc --target=cuda's folded epilogue (gemm_epilogue.h), in place.
      const auto epilogue = static_cast<artifact::GemmEpilogue>(
          in.ints()->size() > artifact::kGemmEpilogueInt ? I(artifact::kGemmEpilogueInt) : 0);
      if (epilogue == artifact::GemmEpilogue::kNone) return absl::OkStatus();
      const unsigned n_ops = in.operands()->size();
      const bool dgelu = artifact::IsGeluGradEpilogue(epilogue);
      cpu::ApplyGemmEpilogue(epilogue, f_res(0), dgelu ? nullptr : f_op(2),
                             dgelu ? f_op(2) : n_ops > 3 ? f_op(3) : nullptr,
                             in.results()->size() > 1 ? f_res(1) : nullptr, I(0) * I(1), I(2));
      return absl::OkStatus();
    }
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
      const VocabShard v = shard_along(3, I(0));
      return cpu::Embedding(f_op(0), I(0), I(1), op(1), TypeOf(in.operands()->Get(1)), I(2),
                            f_res(0), v.begin, v.total);
    }
    case fb::Opcode::Attention:
      (bf16_inputs() ? cpu::AttentionBf16Inputs : cpu::Attention)(
          f_op(0), f_op(1), f_op(2), f_res(0), I(0), I(1), I(2), I(3), I(4), I(5), I(6) != 0, F(0));
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
      const VocabShard v = shard_along(3, I(0));
      return cpu::EmbeddingGrad(op(0), TypeOf(in.operands()->Get(0)), f_op(1), f_res(0), I(0),
                                I(1), I(2), v.begin, v.total);
    }
    case fb::Opcode::VocabShardStats: {
      const VocabShard v = shard_along(2, I(1));
      return cpu::VocabShardStats(f_op(0), op(1), TypeOf(in.operands()->Get(1)), f_op(2),
                                  f_res(0), I(0), I(1), v.begin, v.total);
    }
    case fb::Opcode::VocabShardStatsGrad: {
      const VocabShard v = shard_along(2, I(1));
      return cpu::VocabShardStatsGrad(f_op(0), op(1), TypeOf(in.operands()->Get(1)), f_op(2),
                                      f_op(3), f_res(0), I(0), I(1), v.begin, v.total);
    }
    case fb::Opcode::AttentionGrad:
      (bf16_inputs() ? cpu::AttentionGradBf16Inputs : cpu::AttentionGrad)(
          f_op(0), f_op(1), f_op(2), f_op(3), f_res(0), f_res(1), f_res(2), I(0), I(1), I(2), I(3),
          I(4), I(5), I(6) != 0, F(0));
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
    case fb::Opcode::Send:
    case fb::Opcode::Recv: {
      // ints: n, peer, axis. A send returns at once (buffered), so the rank
      // computes on while the message travels; a receive waits for it.
      const bool send = in.op() == fb::Opcode::Send;
      Communicator *comm = CommOf(I(2));
      if (!comm)
        return absl::InvalidArgumentError(
            StrCat(send ? "a send" : "a receive", " along mesh axis ", I(2), ", which has one rank"));
      const DType t = TypeOf(send ? in.operands()->Get(0) : in.results()->Get(0));
      return send ? comm->Send(op(0), I(0), t, static_cast<int>(I(1)))
                  : comm->Recv(res(0), I(0), t, static_cast<int>(I(1)));
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

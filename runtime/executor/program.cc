// Runtime and Program: loading an artifact, holding parameters, and running
// one rank's instruction list on the CPU backend.
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/reader.h"
#include "runtime/cpu/fused.h"
#include "runtime/cpu/grad_kernels.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/optimizers.h"
#include "runtime/executor/init.h"
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

struct Program::Impl {
  std::shared_ptr<const artifact::Artifact> art;
  const fb::RankProgram *rank = nullptr;
  std::vector<Tensor> params;
  std::vector<Tensor> states;
  std::vector<Tensor> constants;
  std::unique_ptr<uint8_t, AlignedFree> arena;
  std::vector<cpu::FusedKernel> fused;  // per instruction; empty unless Fused
  std::vector<void *> ptr;              // value id -> its bytes, set per run
  bool profiling = false;
  std::vector<int64_t> calls;           // per instruction, when profiling
  std::vector<double> seconds;

  const fb::ValueDesc &Value(uint32_t id) const { return *rank->values()->Get(id); }
  DType TypeOf(uint32_t id) const { return static_cast<DType>(Value(id).dtype()); }
  absl::Status Execute(const fb::Instruction &in, size_t index);
};

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(const RuntimeOptions &options) {
  if (options.backend == "cuda")
    return absl::UnavailableError(
        "the CUDA backend is not built into this runtime yet (issue 7); use --backend=cpu");
  if (options.backend != "cpu")
    return absl::InvalidArgumentError(
        StrCat("unknown backend '", options.backend, "'; expected cpu or cuda"));
  if (options.threads > 0) omp_set_num_threads(options.threads);
  return std::unique_ptr<Runtime>(new Runtime(options));
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
  if (a.ranks()->size() != 1)
    return absl::UnimplementedError(
        StrCat(name, ": the artifact has ", a.ranks()->size(),
               " ranks; multi-device execution arrives with issue 5"));
  impl->rank = a.ranks()->Get(0);
  // Refuse what this machine cannot hold before allocating any of it.
  uint64_t need = impl->rank->arena_bytes();
  for (const auto *list : {a.params(), a.states()})
    if (list)
      for (const fb::ParamSpec *p : *list) {
        uint64_t n = DTypeSize(static_cast<DType>(p->tensor()->dtype()));
        for (int64_t d : *p->tensor()->shape()) n *= d;
        need += n;
      }
  const uint64_t have = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (need > have)
    return absl::ResourceExhaustedError(StrCat(name, ": the model needs ", need,
                                               " bytes for parameters and activations; this "
                                               "machine has ", have));
  for (const fb::ParamSpec *p : *a.params()) {
    TensorInfo info = InfoOf(*p->tensor());
    impl->params.emplace_back(info.dtype, info.shape);
  }
  if (a.states())
    for (const fb::ParamSpec *p : *a.states()) {
      TensorInfo info = InfoOf(*p->tensor());
      impl->states.emplace_back(info.dtype, info.shape);
    }
  // Constants are copied out so that they are aligned for the kernels.
  if (a.constants())
    for (const fb::ConstantData *c : *a.constants()) {
      Tensor t(DType::kI32, {static_cast<int64_t>((c->data()->size() + 3) / 4)});
      std::memcpy(t.data(), c->data()->data(), c->data()->size());
      impl->constants.push_back(t);
    }
  size_t arena = std::max<uint64_t>(impl->rank->arena_bytes(), 64);
  impl->arena.reset(static_cast<uint8_t *>(std::aligned_alloc(64, (arena + 63) / 64 * 64)));
  if (!impl->arena) return absl::ResourceExhaustedError(StrCat("cannot allocate ", arena, " bytes"));
  for (const fb::Instruction *in : *impl->rank->instructions())
    impl->fused.push_back(in->op() == fb::Opcode::Fused ? Decode(*in->fused()) : cpu::FusedKernel());
  impl->ptr.resize(impl->rank->values()->size());

  std::unique_ptr<Program> program(new Program(std::move(impl)));
  for (const fb::InputSpec *in : *a.inputs()) {
    program->inputs_.push_back(InfoOf(*in->tensor()));
    program->inputs_.back().int_bound = in->int_bound();
  }
  for (const fb::ParamSpec *p : *a.params()) program->params_.push_back(InfoOf(*p->tensor()));
  if (a.states())
    for (const fb::ParamSpec *p : *a.states()) program->states_.push_back(InfoOf(*p->tensor()));
  for (unsigned i = 0; i < a.outputs()->size(); ++i) {
    const fb::OutputSpec *o = a.outputs()->Get(i);
    const fb::ValueDesc &v = program->impl_->Value(program->impl_->rank->outputs()->Get(i));
    program->outputs_.push_back({o->name()->str(), static_cast<DType>(v.dtype()), ShapeOf(v.shape())});
    if (o->is_loss()) program->loss_ = o->name()->str();
  }
  return program;
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::~Program() = default;

absl::Status Program::InitParameters(uint64_t seed) {
  const fb::Artifact &a = *impl_->art->root;
  for (unsigned i = 0; i < a.params()->size(); ++i) {
    const fb::InitSpec &init = *a.params()->Get(i)->init();
    FillRandom(impl_->params[i], static_cast<InitDist>(init.dist()), init.a(), init.b(), seed,
               params_[i].name);
  }
  for (unsigned i = 0; i < states_.size(); ++i) {
    const fb::InitSpec &init = *a.states()->Get(i)->init();
    FillRandom(impl_->states[i], static_cast<InitDist>(init.dist()), init.a(), init.b(), seed,
               states_[i].name);
  }
  return absl::OkStatus();
}

int64_t Program::step() const {
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == "optimizer.step")
      return static_cast<int64_t>(impl_->states[i].data_as<float>()[0]);
  return 0;
}

absl::Status Program::SetParameter(const std::string &name, const Tensor &value) {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name != name) continue;
    if (value.dtype() != params_[i].dtype || value.shape() != params_[i].shape)
      return absl::InvalidArgumentError(
          StrCat("parameter '", name, "' is ", DTypeName(params_[i].dtype),
                 ShapeString(params_[i].shape), ", got ", value.DebugString()));
    std::memcpy(impl_->params[i].data(), value.data(), value.byte_size());
    return absl::OkStatus();
  }
  return absl::NotFoundError(StrCat("the model has no parameter '", name, "'"));
}

absl::StatusOr<Tensor> Program::GetParameter(const std::string &name) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return impl_->params[i].Clone();
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == name) return impl_->states[i].Clone();
  return absl::NotFoundError(StrCat("the model has no parameter '", name, "'"));
}

absl::Status Program::LoadParameters(const std::string &path, bool require_state) {
  auto file = io::ReadSafetensors(path);
  if (!file.ok()) return file.status();
  std::vector<std::string> problems;
  std::set<std::string> known;
  auto load = [&](const std::vector<TensorInfo> &infos, std::vector<Tensor> &tensors,
                  bool required) {
    for (size_t i = 0; i < infos.size(); ++i) {
      const TensorInfo &p = infos[i];
      known.insert(p.name);
      auto it = file->tensors.find(p.name);
      if (it == file->tensors.end()) {
        if (required)
          problems.push_back(StrCat("missing '", p.name, "' (", DTypeName(p.dtype),
                                    ShapeString(p.shape), ")"));
        continue;
      }
      if (it->second.dtype() != p.dtype || it->second.shape() != p.shape) {
        problems.push_back(StrCat("'", p.name, "' is ", it->second.DebugString(),
                                  ", the model needs ", DTypeName(p.dtype), ShapeString(p.shape)));
        continue;
      }
      std::memcpy(tensors[i].data(), it->second.data(), it->second.byte_size());
    }
  };
  load(params_, impl_->params, /*required=*/true);
  load(states_, impl_->states, require_state);
  for (const auto &[name, t] : file->tensors)
    if (!known.count(name)) problems.push_back(StrCat("unexpected '", name, "' (not a parameter of the model)"));
  if (!problems.empty())
    return absl::InvalidArgumentError(
        StrCat(path, ": the weights do not fit the model: ", absl::StrJoin(problems, "; ")));
  return absl::OkStatus();
}

absl::Status Program::SaveParameters(const std::string &path) const {
  io::Safetensors file;
  for (size_t i = 0; i < params_.size(); ++i) file.tensors[params_[i].name] = impl_->params[i];
  for (size_t i = 0; i < states_.size(); ++i) file.tensors[states_[i].name] = impl_->states[i];
  file.metadata["format"] = "pt";  // what other safetensors readers expect
  file.metadata["weft.source"] = impl_->art->root->source() ? impl_->art->root->source()->str() : "";
  return io::WriteSafetensors(path, file);
}

void Program::set_profiling(bool on) {
  impl_->profiling = on;
  impl_->calls.assign(impl_->rank->instructions()->size(), 0);
  impl_->seconds.assign(impl_->rank->instructions()->size(), 0.0);
}

std::vector<InstructionProfile> Program::profile() const {
  static const char *const kKernels[] = {"fused",    "copy",    "cast",       "matmul",
                                         "reduce",   "softmax", "layer_norm", "rms_norm",
                                         "embedding", "attention", "cross_entropy", "pad", "softmax_grad",
                                         "layer_norm_grad", "rms_norm_grad", "embedding_grad",
                                         "attention_grad", "cross_entropy_grad", "sgd_update",
                                         "adamw_update"};
  std::vector<InstructionProfile> out;
  const auto &instructions = *impl_->rank->instructions();
  for (size_t i = 0; i < impl_->calls.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    out.push_back({kKernels[static_cast<int>(in.op())], in.name() ? in.name()->str() : "",
                   in.loc() ? in.loc()->str() : "", impl_->calls[i], impl_->seconds[i]});
  }
  return out;
}

int64_t Program::arena_bytes() const { return impl_->rank->arena_bytes(); }
int64_t Program::parameter_bytes() const {
  int64_t n = 0;
  for (const Tensor &t : impl_->params) n += t.byte_size();
  return n;
}
int64_t Program::peak_bytes() const {
  int64_t n = arena_bytes() + parameter_bytes();
  for (const Tensor &t : impl_->states) n += t.byte_size();
  for (const TensorInfo &in : inputs_) {
    int64_t elements = 1;
    for (int64_t d : in.shape) elements *= d;
    n += elements * DTypeSize(in.dtype);
  }
  return n;
}

absl::StatusOr<std::map<std::string, Tensor>> Program::Run(
    const std::map<std::string, Tensor> &inputs) {
  Impl &m = *impl_;
  // Bind every value to its bytes.
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
  // Outputs computed by an instruction are written straight into the
  // tensors returned; the rest (views of inputs, constants, ...) are copied.
  std::vector<Tensor> out_tensors(outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const fb::ValueDesc &v = m.Value(m.rank->outputs()->Get(i));
    if (v.storage() == fb::Storage::Output && v.index() == i)
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
  }
  for (uint32_t id = 0; id < m.rank->values()->size(); ++id) {
    const fb::ValueDesc &v = m.Value(id);
    switch (v.storage()) {
      case fb::Storage::Output: m.ptr[id] = out_tensors[v.index()].data(); break;
      case fb::Storage::Input: m.ptr[id] = const_cast<void *>(bound[v.index()]->data()); break;
      case fb::Storage::Param: m.ptr[id] = m.params[v.index()].data(); break;
      case fb::Storage::State: m.ptr[id] = m.states[v.index()].data(); break;
      case fb::Storage::Constant: m.ptr[id] = m.constants[v.index()].data(); break;
      case fb::Storage::Arena: m.ptr[id] = m.arena.get() + v.index(); break;
    }
  }
  const auto &instructions = *m.rank->instructions();
  for (size_t i = 0; i < instructions.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    const auto start = m.profiling ? std::chrono::steady_clock::now()
                                   : std::chrono::steady_clock::time_point();
    absl::Status s = m.Execute(in, i);
    if (m.profiling) {
      m.calls[i] += 1;
      m.seconds[i] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!s.ok())
      return absl::Status(s.code(), StrCat(in.loc() ? in.loc()->str() : "?", ": ",
                                           in.name() ? in.name()->str() : "?", ": ", s.message()));
  }
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (out_tensors[i].empty()) {
      out_tensors[i] = Tensor::Uninitialized(outputs_[i].dtype, outputs_[i].shape);
      std::memcpy(out_tensors[i].data(), m.ptr[m.rank->outputs()->Get(i)],
                  out_tensors[i].byte_size());
    }
    out[outputs_[i].name] = out_tensors[i];
  }
  return out;
}

absl::Status Program::Impl::Execute(const fb::Instruction &in, size_t index) {
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
    case fb::Opcode::Embedding:
      return cpu::Embedding(f_op(0), I(0), I(1), op(1), TypeOf(in.operands()->Get(1)), I(2),
                            f_res(0));
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
    case fb::Opcode::EmbeddingGrad:
      return cpu::EmbeddingGrad(op(0), TypeOf(in.operands()->Get(0)), f_op(1), f_res(0), I(0),
                                I(1), I(2));
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
  }
  return absl::InternalError("unknown opcode");
}

}  // namespace weft

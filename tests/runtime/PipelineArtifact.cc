#include "PipelineArtifact.h"

#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "runtime/artifact/artifact_generated.h"
#include "runtime/artifact/format.h"

namespace weft::testing {
namespace {

namespace fbs = flatbuffers;
using Flaw = PipelineArtifactOptions::Flaw;

// Interface ordinals.
enum Param { kW0, kT, kW1 };
enum State { kStep, kW0Momentum, kTMomentum, kW1Momentum };
enum Constant { kZero, kOne };
constexpr int kPpAxis = 0, kDpAxis = 1;

struct Value {
  std::vector<int64_t> shape;
  fb::Storage storage;
  uint64_t index;
};

struct Inst {
  fb::Opcode op;
  std::vector<uint32_t> operands, results;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string name;
  // Fused programs: an elementwise add (acc + x) or 0.5 * x * x, over n.
  enum class Fused { kNone, kAdd, kHalfSquare } fused = Fused::kNone;
  int64_t n = 0;
  // Copy: rows [row0, row0 + rows) of a [*, cols] tensor.
  int64_t row0 = 0, rows = 0, cols = 0;
};

int64_t Elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// One pp rank's program, built instruction by instruction along its list.
class RankBuilder {
 public:
  RankBuilder(const PipelineArtifactOptions &o, int stage) : o_(o), stage_(stage) {
    b_ = o.batch / (o.dp * o.microbatches);
    x_ = Add({{o.batch / o.dp, kIn}, fb::Storage::Input, 0});
    const bool first = stage == 0;
    params_ = {first ? Add({{kIn, kHidden}, fb::Storage::Param, kW0}) : artifact::kAbsent,
               Add({{kHidden, kHidden}, fb::Storage::Param, kT}),
               first ? artifact::kAbsent : Add({{kHidden, kOut}, fb::Storage::Param, kW1})};
    states_ = {Add({{}, fb::Storage::State, kStep}),
               first ? Add({{kIn, kHidden}, fb::Storage::State, kW0Momentum}) : artifact::kAbsent,
               Add({{kHidden, kHidden}, fb::Storage::State, kTMomentum}),
               first ? artifact::kAbsent : Add({{kHidden, kOut}, fb::Storage::State, kW1Momentum})};
    zero_ = Add({{}, fb::Storage::Constant, kZero});
    one_ = Add({{}, fb::Storage::Constant, kOne});
    loss_ = Add({{}, fb::Storage::Output, 0});
    if (first) {
      grad_ = {Arena({kIn, kHidden}), Arena({kHidden, kHidden}), artifact::kAbsent};
    } else {
      grad_ = {artifact::kAbsent, Arena({kHidden, kHidden}), Arena({kHidden, kOut})};
      loss_sum_ = Arena({});
    }
    for (int m = 0; m < o.microbatches; ++m) {
      // Per microbatch: its activations, kept from its forward to its backward.
      xm_.push_back(first ? Arena({b_, kIn}) : 0);
      a_.push_back(first ? Arena({b_, kHidden}) : 0);
      h_.push_back(Arena({b_, kHidden}));   // stage 0 sends it, stage 1 receives it
      dh_.push_back(Arena({b_, kHidden}));  // stage 1 sends it, stage 0 receives it
      g_.push_back(first ? 0 : Arena({b_, kHidden}));
      y_.push_back(first ? 0 : Arena({b_, kOut}));
    }
    if (o.flaw == Flaw::kReadsAbsentParameter && first) Add({{kHidden, kOut}, fb::Storage::Param, kW1});
  }

  void Emit(const pipeline::Instruction &op) {
    const int m = op.microbatch, n = static_cast<int>(b_ * kHidden);
    switch (op.kind) {
      case pipeline::OpKind::kForward: return stage_ == 0 ? Forward0(m) : Forward1(m);
      case pipeline::OpKind::kBackward: return stage_ == 0 ? Backward0(m) : Backward1(m);
      case pipeline::OpKind::kSendActivation:
        return Push({fb::Opcode::Send, {h_[m]}, {}, {n, Peer(op.peer), kPpAxis}, {}, "weft.send"});
      case pipeline::OpKind::kRecvActivation:
        return Push({fb::Opcode::Recv, {}, {h_[m]}, {n, op.peer, kPpAxis}, {}, "weft.recv"});
      case pipeline::OpKind::kSendGradient:
        return Push({fb::Opcode::Send, {dh_[m]}, {}, {n, Peer(op.peer), kPpAxis}, {}, "weft.send"});
      case pipeline::OpKind::kRecvGradient:
        return Push({fb::Opcode::Recv, {}, {dh_[m]}, {n, op.peer, kPpAxis}, {}, "weft.recv"});
      case pipeline::OpKind::kOptimizerStep: return OptimizerStep();
    }
  }

  fbs::Offset<fb::RankProgram> Finish(fbs::FlatBufferBuilder &fbb, int dp_rank) {
    if (o_.flaw == Flaw::kUnevenStage && stage_ == 1 && dp_rank == 1)
      params_[kW0] = Add({{kIn, kHidden}, fb::Storage::Param, kW0});  // held here alone
    std::vector<fbs::Offset<fb::ValueDesc>> values;
    for (const Value &v : values_)
      values.push_back(fb::CreateValueDescDirect(fbb, fb::DType::F32, &v.shape, v.storage, v.index));
    std::vector<fbs::Offset<fb::Instruction>> insts;
    for (const Inst &in : insts_) insts.push_back(Serialize(fbb, in));
    const std::vector<uint32_t> inputs = {x_}, outputs = {loss_};
    return fb::CreateRankProgramDirect(fbb, &values, &inputs, &params_, &states_, &outputs, &insts,
                                       arena_, 0, arena_);
  }

 private:
  uint32_t Add(Value v) {
    values_.push_back(std::move(v));
    return static_cast<uint32_t>(values_.size() - 1);
  }
  uint32_t Arena(std::vector<int64_t> shape) {
    const uint64_t at = arena_;
    arena_ += (Elements(shape) * 4 + 15) / 16 * 16;
    return Add({std::move(shape), fb::Storage::Arena, at});
  }
  int64_t Peer(int peer) const {
    return o_.flaw == Flaw::kPeerOutOfRange && stage_ == 0 ? 2 : peer;
  }
  void Push(Inst in) { insts_.push_back(std::move(in)); }
  void Matmul(uint32_t a, uint32_t b, uint32_t c, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    Push({fb::Opcode::Matmul, {a, b}, {c}, {1, m, n, k, ta, tb, 0}, {}, "weft.matmul"});
  }
  void AddInto(uint32_t acc, uint32_t part, int64_t n) {
    Inst in{fb::Opcode::Fused, {acc, part}, {acc}, {}, {}, "weft.add"};
    in.fused = Inst::Fused::kAdd;
    in.n = n;
    Push(std::move(in));
  }
  // acc [m, n] (+)= a x b: the first microbatch writes acc, the later ones
  // add to it (gradients summed over microbatches).
  void MatmulSum(uint32_t acc, bool &started, uint32_t a, uint32_t b, int64_t m, int64_t n,
                 int64_t k, bool ta) {
    const uint32_t out = started ? Arena({m, n}) : acc;
    Matmul(a, b, out, m, n, k, ta, false);
    if (started) AddInto(acc, out, m * n);
    started = true;
  }

  void Forward0(int m) {
    Inst copy{fb::Opcode::Copy, {x_}, {xm_[m]}, {}, {}, "weft.slice"};
    copy.row0 = m * b_, copy.rows = b_, copy.cols = kIn;
    Push(std::move(copy));
    Matmul(xm_[m], params_[kW0], a_[m], b_, kHidden, kIn, false, false);
    Matmul(a_[m], params_[kT], h_[m], b_, kHidden, kHidden, false, false);
  }
  void Forward1(int m) {
    Matmul(h_[m], params_[kT], g_[m], b_, kHidden, kHidden, false, false);
    Matmul(g_[m], params_[kW1], y_[m], b_, kOut, kHidden, false, false);
    const uint32_t half_square = Arena({b_, kOut});
    Inst sq{fb::Opcode::Fused, {y_[m]}, {half_square}, {}, {}, "weft.mul"};
    sq.fused = Inst::Fused::kHalfSquare;
    sq.n = b_ * kOut;
    Push(std::move(sq));
    const uint32_t l = loss_started_ ? Arena({}) : loss_sum_;
    Push({fb::Opcode::Reduce, {half_square}, {l}, {0, 1, 1}, {}, "weft.reduce"});
    if (loss_started_) AddInto(loss_sum_, l, 1);
    loss_started_ = true;
  }
  void Backward1(int m) {
    // dy = y; dW1 += g^T dy; dg = dy W1^T; dT += h^T dg; dh = dg T^T.
    MatmulSum(grad_[kW1], started_[kW1], g_[m], y_[m], kHidden, kOut, b_, true);
    const uint32_t dg = Arena({b_, kHidden});
    Matmul(y_[m], params_[kW1], dg, b_, kHidden, kOut, false, true);
    MatmulSum(grad_[kT], started_[kT], h_[m], dg, kHidden, kHidden, b_, true);
    Matmul(dg, params_[kT], dh_[m], b_, kHidden, kHidden, false, true);
  }
  void Backward0(int m) {
    // dT += a^T dh; da = dh T^T; dW0 += x^T da.
    MatmulSum(grad_[kT], started_[kT], a_[m], dh_[m], kHidden, kHidden, b_, true);
    const uint32_t da = Arena({b_, kHidden});
    Matmul(dh_[m], params_[kT], da, b_, kHidden, kHidden, false, true);
    MatmulSum(grad_[kW0], started_[kW0], xm_[m], da, kIn, kHidden, b_, true);
  }
  void OptimizerStep() {
    // The loss: stage 1's, all-reduced over pp (stage 0 adds zero), then dp.
    Push({fb::Opcode::AllReduce, {stage_ == 0 ? zero_ : loss_sum_}, {loss_}, {0, 1, kPpAxis}, {},
          "weft.all_reduce"});
    if (o_.dp > 1) Push({fb::Opcode::AllReduce, {loss_}, {loss_}, {0, 1, kDpAxis}, {}, "weft.all_reduce"});
    // The tied weight's gradient: the sum of both stages' parts.
    Push({fb::Opcode::AllReduce, {grad_[kT]}, {grad_[kT]}, {0, kHidden * kHidden, kPpAxis}, {},
          "weft.all_reduce"});
    const std::vector<Param> mine =
        stage_ == 0 ? std::vector<Param>{kW0, kT} : std::vector<Param>{kT, kW1};
    auto size = [](Param p) {
      return p == kW0 ? kIn * kHidden : p == kT ? kHidden * kHidden : kHidden * kOut;
    };
    if (o_.dp > 1)
      for (Param p : mine)
        Push({fb::Opcode::AllReduce, {grad_[p]}, {grad_[p]}, {0, size(p), kDpAxis}, {}, "weft.all_reduce"});
    AddInto(states_[kStep], one_, 1);
    for (Param p : mine) {
      const uint32_t momentum = states_[p == kW0 ? kW0Momentum : p == kT ? kTMomentum : kW1Momentum];
      Push({fb::Opcode::SgdUpdate, {params_[p], grad_[p], momentum, states_[kStep]},
            {params_[p], momentum}, {size(p)}, {o_.lr, o_.momentum, 0.0f}, "weft.sgd_update"});
    }
  }

  fbs::Offset<fb::Instruction> Serialize(fbs::FlatBufferBuilder &fbb, const Inst &in) const {
    fbs::Offset<fb::FusedProgram> fused = 0;
    if (in.fused != Inst::Fused::kNone) {
      const std::vector<int64_t> shape = {in.n}, unit = {1};
      std::vector<fbs::Offset<fb::FusedLoad>> loads = {fb::CreateFusedLoadDirect(fbb, 0, &unit)};
      std::vector<fb::FusedStep> steps;
      std::vector<uint32_t> outputs;
      if (in.fused == Inst::Fused::kAdd) {
        loads.push_back(fb::CreateFusedLoadDirect(fbb, 1, &unit));
        steps = {fb::FusedStep(fb::EwOp::Add, 0, 1, 0, 0.0f)};
        outputs = {2};
      } else {
        steps = {fb::FusedStep(fb::EwOp::Mul, 0, 0, 0, 0.0f), fb::FusedStep(fb::EwOp::Scale, 1, 0, 0, 0.5f)};
        outputs = {2};
      }
      fused = fb::CreateFusedProgramDirect(fbb, &shape, false, &loads, &steps, &outputs);
    }
    fbs::Offset<fb::CopySpec> copy = 0;
    if (in.op == fb::Opcode::Copy) {
      const std::vector<int64_t> shape = {in.rows, in.cols}, strides = {in.cols, 1};
      copy = fb::CreateCopySpecDirect(fbb, &shape, in.row0 * in.cols, &strides, 0, &strides);
    }
    const std::string loc = "pipeline_artifact:stage" + std::to_string(stage_);
    return fb::CreateInstructionDirect(fbb, in.op, &in.operands, &in.results, &in.ints, &in.floats,
                                       fused, copy, loc.c_str(), in.name.c_str());
  }

  const PipelineArtifactOptions &o_;
  const int stage_;
  int64_t b_ = 0;  // rows of a microbatch on one rank
  uint64_t arena_ = 0;
  std::vector<Value> values_;
  std::vector<Inst> insts_;
  uint32_t x_ = 0, zero_ = 0, one_ = 0, loss_ = 0, loss_sum_ = 0;
  std::vector<uint32_t> params_, states_, grad_;
  std::vector<uint32_t> xm_, a_, h_, dh_, g_, y_;
  bool loss_started_ = false, started_[3] = {false, false, false};
};

fbs::Offset<fb::TensorSpec> Spec(fbs::FlatBufferBuilder &fbb, const char *name,
                                 std::vector<int64_t> shape) {
  return fb::CreateTensorSpecDirect(fbb, name, fb::DType::F32, &shape);
}

}  // namespace

std::string BuildPipelineArtifact(const PipelineArtifactOptions &o) {
  if (o.batch % (o.dp * o.microbatches) != 0)
    throw std::invalid_argument("the batch must divide into dp x microbatches");
  pipeline::ScheduleOptions so;
  so.kind = o.schedule;
  so.stages = 2;
  so.microbatches = o.microbatches;
  auto schedule = pipeline::BuildSchedule(so);
  if (!schedule.ok()) throw std::invalid_argument(std::string(schedule.status().message()));

  fbs::FlatBufferBuilder fbb;
  std::vector<fbs::Offset<fb::InputSpec>> inputs = {
      fb::CreateInputSpec(fbb, Spec(fbb, "x", {o.batch, kIn}), 0, /*split=*/o.dp > 1)};
  auto normal = [&] { return fb::CreateInitSpec(fbb, fb::Dist::Normal, 0.0f, 0.5f); };
  auto zeros = [&] { return fb::CreateInitSpec(fbb, fb::Dist::Zeros, 0.0f, 0.0f); };
  std::vector<fbs::Offset<fb::ParamSpec>> params = {
      fb::CreateParamSpec(fbb, Spec(fbb, "W0", {kIn, kHidden}), normal()),
      fb::CreateParamSpec(fbb, Spec(fbb, "T", {kHidden, kHidden}), normal()),
      fb::CreateParamSpec(fbb, Spec(fbb, "W1", {kHidden, kOut}), normal())};
  std::vector<fbs::Offset<fb::ParamSpec>> states = {
      fb::CreateParamSpec(fbb, Spec(fbb, "optimizer.step", {}), zeros()),
      fb::CreateParamSpec(fbb, Spec(fbb, "optimizer.W0.momentum", {kIn, kHidden}), zeros()),
      fb::CreateParamSpec(fbb, Spec(fbb, "optimizer.T.momentum", {kHidden, kHidden}), zeros()),
      fb::CreateParamSpec(fbb, Spec(fbb, "optimizer.W1.momentum", {kHidden, kOut}), zeros())};
  std::vector<fbs::Offset<fb::OutputSpec>> outputs = {
      fb::CreateOutputSpecDirect(fbb, "loss", /*is_loss=*/true, /*gather=*/false)};
  std::vector<fbs::Offset<fb::ConstantData>> constants;
  for (float v : {0.0f, 1.0f}) {
    std::vector<uint8_t> bytes(4);
    std::memcpy(bytes.data(), &v, 4);
    constants.push_back(fb::CreateConstantDataDirect(fbb, &bytes));
  }
  std::vector<fbs::Offset<fb::MeshAxis>> mesh = {
      fb::CreateMeshAxisDirect(fbb, o.flaw == Flaw::kUnknownAxis ? "xp" : "pp", 2)};
  if (o.dp > 1) mesh.push_back(fb::CreateMeshAxisDirect(fbb, "dp", o.dp));
  if (o.flaw == Flaw::kAxesOutOfOrder) std::swap(mesh.front(), mesh.back());
  // Rank p * dp + d runs stage p's list; its dp ranks share one program
  // unless a flaw sets one apart.
  std::vector<fbs::Offset<fb::RankProgram>> ranks;
  for (int p = 0; p < 2; ++p)
    for (int d = 0; d < o.dp; ++d) {
      RankBuilder rank(o, p);
      for (const pipeline::Instruction &op : schedule->ranks[p]) rank.Emit(op);
      ranks.push_back(rank.Finish(fbb, d));
    }
  fbs::Offset<fb::Pipeline> table = 0;
  if (o.pipeline_table) {
    // Equal stages (a forward 1 us, a backward 2 us), so that the tests can
    // work the timeline out by hand; each keeps its input per microbatch.
    const int64_t b = o.batch / (o.dp * o.microbatches);
    const int64_t stash[2] = {b * kIn * 4, b * kHidden * 4};
    const int64_t param_bytes[2] = {(kIn * kHidden + kHidden * kHidden) * 4,
                                    (kHidden * kHidden + kHidden * kOut) * 4};
    std::vector<fbs::Offset<fb::PipelineStage>> stages;
    for (int s = 0; s < 2; ++s)
      stages.push_back(fb::CreatePipelineStage(fbb, s, s, 1e-6, 2e-6, stash[s], param_bytes[s]));
    std::vector<fbs::Offset<fb::PipelineRank>> lists;
    for (const auto &list : schedule->ranks) {
      std::vector<fb::PipelineOp> ops;
      for (const pipeline::Instruction &in : list) {
        if (o.flaw == Flaw::kTableMissingSend && lists.empty() &&
            in.kind == pipeline::OpKind::kSendActivation && in.microbatch == 0)
          continue;
        ops.emplace_back(static_cast<fb::PipelineOpKind>(in.kind), in.microbatch, in.chunk, in.peer);
      }
      lists.push_back(fb::CreatePipelineRankDirect(fbb, &ops));
    }
    table = fb::CreatePipelineDirect(fbb, pipeline::ScheduleKindName(o.schedule),
                                     o.flaw == Flaw::kTableStages ? 3 : 2, 1, o.microbatches,
                                     &stages, &lists);
  }
  auto root = fb::CreateArtifactDirect(fbb, artifact::kFormatVersion, "pipeline_artifact", &inputs,
                                       &params, &outputs, &states, &constants, &mesh, &ranks,
                                       nullptr, table);
  fb::FinishArtifactBuffer(fbb, root);
  return artifact::MakeHeader(fbb.GetBufferPointer(), fbb.GetSize()) +
         std::string(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace weft::testing

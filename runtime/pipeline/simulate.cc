#include "runtime/pipeline/simulate.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft::pipeline {
namespace {

// The instruction a send or receive meets on its peer, and that peer.
struct Counterpart {
  int rank;
  Instruction inst;
};

class Checker {
 public:
  Checker(const Schedule &s, const Costs &c, SendMode mode)
      : s_(s), c_(c), mode_(mode), P_(s.options.stages), M_(s.options.microbatches), V_(s.options.virtual_stages) {}

  absl::StatusOr<Simulation> Run() {
    if (absl::Status st = CheckStatic(); !st.ok()) return st;
    for (const std::vector<double> *v : {&c_.stage_forward, &c_.stage_backward})
      if (!v->empty() && static_cast<int>(v->size()) != P_ * V_)
        return absl::InvalidArgumentError(absl::StrCat(
            "per-stage costs: ", v->size(), " given for ", P_ * V_, " stages"));
    return Simulate();
  }

 private:
  std::string Where(int r, size_t i) const {
    return absl::StrCat("rank ", r, ", instruction ", i, " '",
                        InstructionName(s_.ranks[r][i], V_), "'");
  }

  // The neighbour stage a send or receive talks to (activations forward,
  // gradients back).
  static int NeighbourStage(OpKind k, int stage) {
    return (k == OpKind::kSendActivation || k == OpKind::kRecvGradient) ? stage + 1 : stage - 1;
  }

  Counterpart CounterpartOf(int r, const Instruction &i) const {
    const int neighbour = NeighbourStage(i.kind, GlobalStage(r, i.chunk, P_));
    OpKind k = OpKind::kOptimizerStep;
    switch (i.kind) {
      case OpKind::kSendActivation: k = OpKind::kRecvActivation; break;
      case OpKind::kRecvActivation: k = OpKind::kSendActivation; break;
      case OpKind::kSendGradient: k = OpKind::kRecvGradient; break;
      case OpKind::kRecvGradient: k = OpKind::kSendGradient; break;
      default: break;
    }
    return {RankOfStage(neighbour, P_), {k, i.microbatch, ChunkOfStage(neighbour, P_), r}};
  }

  // Shape of every instruction on its own: ranges, peers, no duplicates,
  // one optimizer step.
  absl::Status CheckStatic() const {
    if (P_ < 1 || M_ < 1 || V_ < 1)
      return absl::InvalidArgumentError("a schedule needs stages, microbatches and virtual stages >= 1");
    if (static_cast<int>(s_.ranks.size()) != P_)
      return absl::InvalidArgumentError(
          absl::StrCat("the schedule has ", s_.ranks.size(), " rank lists for ", P_, " stages"));
    const int S = P_ * V_;
    for (int r = 0; r < P_; ++r) {
      std::map<std::tuple<int, int, int>, size_t> seen;
      int steps = 0;
      for (size_t i = 0; i < s_.ranks[r].size(); ++i) {
        const Instruction &in = s_.ranks[r][i];
        if (in.kind == OpKind::kOptimizerStep) {
          if (++steps > 1)
            return absl::InvalidArgumentError(absl::StrCat(Where(r, i), ": a second optimizer step"));
          continue;
        }
        if (in.microbatch < 0 || in.microbatch >= M_ || in.chunk < 0 || in.chunk >= V_)
          return absl::InvalidArgumentError(absl::StrCat(
              Where(r, i), ": microbatch or chunk out of range (", M_, " microbatches, ", V_,
              " chunks)"));
        auto [it, fresh] = seen.insert({{static_cast<int>(in.kind), in.microbatch, in.chunk}, i});
        if (!fresh)
          return absl::InvalidArgumentError(
              absl::StrCat(Where(r, i), ": repeats instruction ", it->second));
        if (IsCompute(in.kind)) continue;
        const int neighbour = NeighbourStage(in.kind, GlobalStage(r, in.chunk, P_));
        if (neighbour < 0 || neighbour >= S)
          return absl::InvalidArgumentError(absl::StrCat(
              Where(r, i), ": stage ", GlobalStage(r, in.chunk, P_), " has no ",
              neighbour < 0 ? "previous" : "next", " stage to talk to"));
        if (in.peer != RankOfStage(neighbour, P_) || in.peer == r)
          return absl::InvalidArgumentError(absl::StrCat(
              Where(r, i), ": stage ", neighbour, " is on rank ", RankOfStage(neighbour, P_),
              in.peer == r ? ", a rank does not send to itself" : ", not on that peer"));
      }
      if (steps == 0)
        return absl::InvalidArgumentError(absl::StrCat("rank ", r, " has no optimizer step"));
    }
    return absl::OkStatus();
  }

  // Whether the data an instruction needs is there on its rank now.
  struct RankState {
    size_t pc = 0;
    double clock = 0;
    int in_flight = 0;
    std::vector<std::vector<bool>> fwd, bwd, act, grad;  // [chunk][mb]
    int backwards = 0;
  };

  absl::Status CheckLocal(int r, const RankState &st, const Instruction &in) const {
    const int S = P_ * V_;
    const int stage = in.chunk >= 0 ? GlobalStage(r, in.chunk, P_) : -1;
    const auto need = [&](bool ok, const std::string &what) -> absl::Status {
      if (ok) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(Where(r, st.pc), ": runs before ", what));
    };
    switch (in.kind) {
      case OpKind::kForward: {
        if (stage == 0) return absl::OkStatus();
        const int prev = RankOfStage(stage - 1, P_);
        if (prev == r) return need(st.fwd[in.chunk - 1][in.microbatch], "the forward of the previous chunk");
        return need(st.act[in.chunk][in.microbatch],
                    absl::StrCat("its activation is received from rank ", prev));
      }
      case OpKind::kBackward: {
        if (absl::Status x = need(st.fwd[in.chunk][in.microbatch], "its own forward"); !x.ok()) return x;
        if (stage == S - 1) return absl::OkStatus();
        const int next = RankOfStage(stage + 1, P_);
        if (next == r) return need(st.bwd[in.chunk + 1][in.microbatch], "the backward of the next chunk");
        return need(st.grad[in.chunk][in.microbatch],
                    absl::StrCat("its gradient is received from rank ", next));
      }
      case OpKind::kSendActivation:
        return need(st.fwd[in.chunk][in.microbatch], "the forward that computes it");
      case OpKind::kSendGradient:
        return need(st.bwd[in.chunk][in.microbatch], "the backward that computes it");
      case OpKind::kOptimizerStep:
        return need(st.backwards == M_ * V_, absl::StrCat("all ", M_ * V_, " backwards have run (",
                                                          st.backwards, " have)"));
      default:
        return absl::OkStatus();
    }
  }

  void Apply(RankState &st, const Instruction &in) {
    switch (in.kind) {
      case OpKind::kForward:
        st.fwd[in.chunk][in.microbatch] = true;
        ++st.in_flight;
        break;
      case OpKind::kBackward:
        st.bwd[in.chunk][in.microbatch] = true;
        --st.in_flight;
        ++st.backwards;
        break;
      case OpKind::kRecvActivation: st.act[in.chunk][in.microbatch] = true; break;
      case OpKind::kRecvGradient: st.grad[in.chunk][in.microbatch] = true; break;
      default: break;
    }
  }

  double Duration(int r, const Instruction &in) const {
    const auto per_stage = [&](const std::vector<double> &v, double uniform) {
      return v.empty() ? uniform : v[GlobalStage(r, in.chunk, P_)];
    };
    switch (in.kind) {
      case OpKind::kForward: return per_stage(c_.stage_forward, c_.forward);
      case OpKind::kBackward: return per_stage(c_.stage_backward, c_.backward);
      case OpKind::kOptimizerStep: return c_.optimizer;
      default: return 0;
    }
  }

  absl::StatusOr<Simulation> Simulate() {
    std::vector<RankState> st(P_);
    Simulation sim;
    sim.sends = mode_;
    sim.timeline.resize(P_);
    sim.busy.assign(P_, 0);
    sim.peak_activations.assign(P_, 0);
    for (int r = 0; r < P_; ++r) {
      for (auto *v : {&st[r].fwd, &st[r].bwd, &st[r].act, &st[r].grad})
        v->assign(V_, std::vector<bool>(M_, false));
      sim.timeline[r].resize(s_.ranks[r].size());
    }
    // Each rank runs until it blocks on a send or receive; a send and its
    // receive finish together once both are posted. The times depend only on
    // each instruction's predecessors, so the order of this loop does not
    // change them.
    for (bool progress = true; progress;) {
      progress = false;
      for (int r = 0; r < P_; ++r) {
        RankState &me = st[r];
        while (me.pc < s_.ranks[r].size()) {
          const Instruction &in = s_.ranks[r][me.pc];
          if (absl::Status x = CheckLocal(r, me, in); !x.ok()) return x;
          if (IsCompute(in.kind) || in.kind == OpKind::kOptimizerStep) {
            const double d = Duration(r, in);
            sim.timeline[r][me.pc] = {me.clock, me.clock + d};
            me.clock += d;
            sim.busy[r] += d;
            Apply(me, in);
            sim.peak_activations[r] = std::max(sim.peak_activations[r], me.in_flight);
            ++me.pc;
            progress = true;
            continue;
          }
          const Counterpart cp = CounterpartOf(r, in);
          if (mode_ == SendMode::kBuffered) {
            // The send leaves at once; the receive waits for its data.
            const auto at = [](int rank, const Instruction &i) {
              return std::make_tuple(rank, static_cast<int>(i.kind), i.microbatch, i.chunk);
            };
            double end = me.clock;
            if (IsSend(in.kind)) {
              posted_[at(cp.rank, cp.inst)] = me.clock;
            } else {
              auto sent = posted_.find(at(r, in));
              if (sent == posted_.end()) break;
              end = std::max(me.clock, sent->second + c_.comm);
            }
            sim.timeline[r][me.pc] = {me.clock, end};
            me.clock = end;
            Apply(me, in);
            ++me.pc;
            progress = true;
            continue;
          }
          RankState &peer = st[cp.rank];
          if (peer.pc >= s_.ranks[cp.rank].size() || !(s_.ranks[cp.rank][peer.pc] == cp.inst)) break;
          const double end = std::max(me.clock, peer.clock) + c_.comm;
          sim.timeline[r][me.pc] = {me.clock, end};
          sim.timeline[cp.rank][peer.pc] = {peer.clock, end};
          me.clock = peer.clock = end;
          Apply(me, in);
          Apply(peer, cp.inst);
          ++me.pc;
          ++peer.pc;
          progress = true;
        }
      }
    }
    if (absl::Status x = ExplainBlocked(st); !x.ok()) return x;
    for (int r = 0; r < P_; ++r) {
      for (int c = 0; c < V_; ++c)
        for (int mb = 0; mb < M_; ++mb)
          for (const bool forward : {true, false})
            if (!(forward ? st[r].fwd : st[r].bwd)[c][mb])
              return absl::FailedPreconditionError(absl::StrCat(
                  "rank ", r, " never runs ",
                  InstructionName({forward ? OpKind::kForward : OpKind::kBackward, mb, c, -1}, V_)));
      sim.makespan = std::max(sim.makespan, st[r].clock);
    }
    double idle = 0;
    for (int r = 0; r < P_; ++r) idle += sim.makespan - sim.busy[r];
    sim.bubble_fraction = sim.makespan > 0 ? idle / (P_ * sim.makespan) : 0;
    return sim;
  }

  // A rank that stopped before its list's end waits on a send or receive
  // that never comes: say what each such rank waits for.
  absl::Status ExplainBlocked(const std::vector<RankState> &st) const {
    std::vector<std::string> lines;
    for (int r = 0; r < P_; ++r) {
      if (st[r].pc >= s_.ranks[r].size()) continue;
      const Counterpart cp = CounterpartOf(r, s_.ranks[r][st[r].pc]);
      const std::vector<Instruction> &peer_list = s_.ranks[cp.rank];
      const bool posts = std::find(peer_list.begin(), peer_list.end(), cp.inst) != peer_list.end();
      std::string peer_at;
      if (!posts) {
        peer_at = absl::StrCat("which rank ", cp.rank, " never posts");
      } else if (st[cp.rank].pc >= peer_list.size()) {
        peer_at = absl::StrCat("but rank ", cp.rank, " has finished its list");
      } else {
        peer_at = absl::StrCat("but rank ", cp.rank, " is blocked at instruction ", st[cp.rank].pc,
                               " '", InstructionName(peer_list[st[cp.rank].pc], V_), "'");
      }
      lines.push_back(absl::StrCat(Where(r, st[r].pc), " waits for rank ", cp.rank, " to post '",
                                   InstructionName(cp.inst, V_), "', ", peer_at));
    }
    if (lines.empty()) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("the schedule deadlocks: ", absl::StrJoin(lines, "; ")));
  }

  const Schedule &s_;
  const Costs &c_;
  const SendMode mode_;
  // Buffered sends posted so far: (receiving rank, kind, microbatch, chunk)
  // of the receive that takes each, and when it was sent.
  std::map<std::tuple<int, int, int, int>, double> posted_;
  const int P_, M_, V_;
};

}  // namespace

absl::StatusOr<Simulation> Simulate(const Schedule &schedule, const Costs &costs, SendMode mode) {
  return Checker(schedule, costs, mode).Run();
}

}  // namespace weft::pipeline

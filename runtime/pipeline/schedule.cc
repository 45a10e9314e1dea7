#include "runtime/pipeline/schedule.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace weft::pipeline {
namespace {

struct ComputeOp {
  bool forward;
  int microbatch;
  int chunk;
};

// The compute order of one rank: which forward or backward comes next.
std::vector<ComputeOp> ComputeOrder(const ScheduleOptions &o, int rank) {
  const int P = o.stages, M = o.microbatches, V = o.virtual_stages;
  std::vector<ComputeOp> order;
  switch (o.kind) {
    case ScheduleKind::kGPipe:
      // All forwards, then all backwards (in microbatch order, as PiPPy's
      // GPipe and Megatron's figure 3 do).
      for (int mb = 0; mb < M; ++mb) order.push_back({true, mb, 0});
      for (int mb = 0; mb < M; ++mb) order.push_back({false, mb, 0});
      break;
    case ScheduleKind::k1F1B: {
      // Warm-up of P-1-rank forwards, steady one forward one backward,
      // cool-down of the remaining backwards (PipeDream-flush).
      const int warmup = std::min(P - 1 - rank, M);
      const int steady = M - warmup;
      for (int mb = 0; mb < warmup; ++mb) order.push_back({true, mb, 0});
      for (int i = 0; i < steady; ++i) {
        order.push_back({true, warmup + i, 0});
        order.push_back({false, i, 0});
      }
      for (int mb = steady; mb < M; ++mb) order.push_back({false, mb, 0});
      break;
    }
    case ScheduleKind::kInterleaved: {
      // Megatron-LM's forward_backward_pipelining_with_interleaving: the
      // k-th forward (backward) of a rank runs microbatch
      // (k / PV) * P + k % P on chunk (k % PV) / P (backwards: reversed).
      const int total = M * V;
      int warmup = M == P ? total : std::min((P - rank - 1) * 2 + (V - 1) * P, total);
      const auto at = [&](int k, bool forward) {
        const int in_group = k % (P * V);
        const int chunk = in_group / P;
        return ComputeOp{forward, (k / (P * V)) * P + k % P, forward ? chunk : V - 1 - chunk};
      };
      const int steady = total - warmup;
      for (int k = 0; k < warmup; ++k) order.push_back(at(k, true));
      for (int i = 0; i < steady; ++i) {
        order.push_back(at(warmup + i, true));
        order.push_back(at(i, false));
      }
      for (int k = steady; k < total; ++k) order.push_back(at(k, false));
      break;
    }
  }
  return order;
}

// Where each forward and backward would run if sends never blocked: an
// as-soon-as-possible timeline with the options' costs. Its times give every
// message one global position.
struct IdealTimes {
  std::vector<std::vector<double>> fwd_start, fwd_end, bwd_start, bwd_end;  // [stage][mb]
};

absl::StatusOr<IdealTimes> Idealize(const ScheduleOptions &o,
                                    const std::vector<std::vector<ComputeOp>> &orders) {
  const int P = o.stages, M = o.microbatches, S = o.stages * o.virtual_stages;
  IdealTimes t;
  for (auto *v : {&t.fwd_start, &t.fwd_end, &t.bwd_start, &t.bwd_end})
    v->assign(S, std::vector<double>(M, -1));
  std::vector<size_t> pc(P, 0);
  std::vector<double> clock(P, 0);
  for (bool progress = true; progress;) {
    progress = false;
    for (int r = 0; r < P; ++r) {
      while (pc[r] < orders[r].size()) {
        const ComputeOp &op = orders[r][pc[r]];
        const int s = GlobalStage(r, op.chunk, P);
        double ready;
        if (op.forward) {
          ready = s == 0 ? 0 : t.fwd_end[s - 1][op.microbatch];
        } else {
          ready = s == S - 1 ? t.fwd_end[s][op.microbatch] : t.bwd_end[s + 1][op.microbatch];
        }
        if (ready < 0) break;
        const double start = std::max(clock[r], ready);
        const double end = start + (op.forward ? o.forward_cost : o.backward_cost);
        (op.forward ? t.fwd_start : t.bwd_start)[s][op.microbatch] = start;
        (op.forward ? t.fwd_end : t.bwd_end)[s][op.microbatch] = end;
        clock[r] = end;
        ++pc[r];
        progress = true;
      }
    }
  }
  for (int r = 0; r < P; ++r)
    if (pc[r] != orders[r].size())
      return absl::InternalError(absl::StrCat("the compute order of rank ", r, " waits forever"));
  return t;
}

}  // namespace

absl::StatusOr<Schedule> BuildSchedule(const ScheduleOptions &o) {
  const int P = o.stages, M = o.microbatches, V = o.virtual_stages;
  if (P < 1) return absl::InvalidArgumentError(absl::StrCat("stages must be >= 1, got ", P));
  if (M < 1) return absl::InvalidArgumentError(absl::StrCat("microbatches must be >= 1, got ", M));
  if (V < 1)
    return absl::InvalidArgumentError(absl::StrCat("virtual stages must be >= 1, got ", V));
  if (!(o.forward_cost > 0) || !(o.backward_cost > 0))
    return absl::InvalidArgumentError("the forward and backward costs must be > 0");
  if (o.kind == ScheduleKind::kInterleaved) {
    if (V < 2)
      return absl::InvalidArgumentError(absl::StrCat(
          "the interleaved schedule needs at least 2 virtual stages per rank, got ", V));
    if (M % P != 0)
      return absl::InvalidArgumentError(
          absl::StrCat("the interleaved schedule needs the microbatches (", M,
                       ") to be a multiple of the stages (", P, ")"));
  } else if (V != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "virtual stages (", V, ") need the interleaved schedule, not ", ScheduleKindName(o.kind)));
  }

  std::vector<std::vector<ComputeOp>> orders(P);
  for (int r = 0; r < P; ++r) orders[r] = ComputeOrder(o, r);
  absl::StatusOr<IdealTimes> ideal = Idealize(o, orders);
  if (!ideal.ok()) return ideal.status();
  const IdealTimes &t = *ideal;

  // Every instruction gets a key (time, class, tie); each rank's list is
  // sorted by it. A send and its receive share one key, so all ranks meet
  // the messages in one global order: the smallest unfinished instruction
  // can always run, hence no deadlock even with blocking sends. The key's
  // time is when the producer ends: the send goes out at once and the
  // receive is posted as early as the data can be there, so with buffered
  // sends the lists run as fast as the ideal timeline. Messages (class 0) go
  // before a compute that starts at the same time (class 1).
  const int S = P * V;
  struct Keyed {
    std::tuple<double, int, int64_t> key;
    Instruction inst;
  };
  const auto message = [&](bool gradient, int source, int mb, Instruction inst) {
    const double produced = gradient ? t.bwd_end[source][mb] : t.fwd_end[source][mb];
    const int64_t id = (static_cast<int64_t>(gradient) * S + source) * M + mb;
    return Keyed{{produced, 0, id}, inst};
  };
  Schedule schedule;
  schedule.options = o;
  schedule.ranks.resize(P);
  for (int r = 0; r < P; ++r) {
    std::vector<Keyed> keyed;
    for (const ComputeOp &op : orders[r]) {
      const int s = GlobalStage(r, op.chunk, P), mb = op.microbatch;
      const int prev = RankOfStage(s - 1, P), next = RankOfStage(s + 1, P);
      // A neighbour chunk on this same rank hands over in memory.
      if (op.forward) {
        keyed.push_back({{t.fwd_start[s][mb], 1, 0}, {OpKind::kForward, mb, op.chunk, -1}});
        if (s > 0 && prev != r)
          keyed.push_back(message(false, s - 1, mb, {OpKind::kRecvActivation, mb, op.chunk, prev}));
        if (s < S - 1 && next != r)
          keyed.push_back(message(false, s, mb, {OpKind::kSendActivation, mb, op.chunk, next}));
      } else {
        keyed.push_back({{t.bwd_start[s][mb], 1, 0}, {OpKind::kBackward, mb, op.chunk, -1}});
        if (s < S - 1 && next != r)
          keyed.push_back(message(true, s + 1, mb, {OpKind::kRecvGradient, mb, op.chunk, next}));
        if (s > 0 && prev != r)
          keyed.push_back(message(true, s, mb, {OpKind::kSendGradient, mb, op.chunk, prev}));
      }
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const Keyed &a, const Keyed &b) { return a.key < b.key; });
    for (const Keyed &k : keyed) schedule.ranks[r].push_back(k.inst);
    schedule.ranks[r].push_back({OpKind::kOptimizerStep, -1, -1, -1});
  }
  return schedule;
}

absl::StatusOr<ScheduleKind> ParseScheduleKind(const std::string &name) {
  if (name == "gpipe") return ScheduleKind::kGPipe;
  if (name == "1f1b") return ScheduleKind::k1F1B;
  if (name == "interleaved") return ScheduleKind::kInterleaved;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown schedule '", name, "'; expected gpipe, 1f1b or interleaved"));
}

const char *ScheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kGPipe: return "gpipe";
    case ScheduleKind::k1F1B: return "1f1b";
    case ScheduleKind::kInterleaved: return "interleaved";
  }
  return "?";
}

bool IsCompute(OpKind k) { return k == OpKind::kForward || k == OpKind::kBackward; }
bool IsSend(OpKind k) { return k == OpKind::kSendActivation || k == OpKind::kSendGradient; }
bool IsRecv(OpKind k) { return k == OpKind::kRecvActivation || k == OpKind::kRecvGradient; }

std::string InstructionName(const Instruction &i, int virtual_stages) {
  const std::string mb = virtual_stages > 1 ? absl::StrCat(i.microbatch, ".", i.chunk)
                                            : absl::StrCat(i.microbatch);
  switch (i.kind) {
    case OpKind::kForward: return absl::StrCat("F", mb);
    case OpKind::kBackward: return absl::StrCat("B", mb);
    case OpKind::kSendActivation: return absl::StrCat("send act mb", mb, " -> rank ", i.peer);
    case OpKind::kRecvActivation: return absl::StrCat("recv act mb", mb, " <- rank ", i.peer);
    case OpKind::kSendGradient: return absl::StrCat("send grad mb", mb, " -> rank ", i.peer);
    case OpKind::kRecvGradient: return absl::StrCat("recv grad mb", mb, " <- rank ", i.peer);
    case OpKind::kOptimizerStep: return "optimizer step";
  }
  return "?";
}

}  // namespace weft::pipeline

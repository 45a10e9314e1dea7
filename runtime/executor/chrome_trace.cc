// Writes trace events as Chrome's trace JSON, looking each instruction's
// details up in the artifact; gathers them from every MPI process first.
#include "runtime/executor/chrome_trace.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/artifact/holdings.h"
#include "runtime/artifact/names.h"
#include "weft/tensor.h"

namespace weft::trace {
namespace {

using nlohmann::json;

int64_t Bytes(const fb::ValueDesc &v) {
  int64_t n = 1;
  if (v.shape())
    for (int64_t d : *v.shape()) n *= d;
  return n * static_cast<int64_t>(DTypeSize(static_cast<DType>(v.dtype())));
}

// The mesh as the artifact describes it: per axis its name, size and stride
// in the rank number (row-major, the last axis innermost).
struct Mesh {
  std::vector<std::string> names;
  std::vector<int64_t> extent, stride;

  explicit Mesh(const fb::Artifact &a) {
    if (a.mesh())
      for (const fb::MeshAxis *m : *a.mesh()) {
        names.push_back(m->name()->str());
        extent.push_back(m->size());
      }
    stride.assign(extent.size(), 1);
    for (int k = static_cast<int>(extent.size()) - 2; k >= 0; --k)
      stride[k] = stride[k + 1] * extent[k + 1];
  }
  bool Has(int64_t axis) const { return axis >= 0 && axis < static_cast<int64_t>(names.size()); }
  int64_t Coord(int64_t rank, int64_t axis) const { return (rank / stride[axis]) % extent[axis]; }
};

// The args of an instruction's event: where it came from, and what a
// collective, message or copy moves.
json InstructionArgs(const fb::RankProgram &prog, const Mesh &mesh, const Event &e) {
  const fb::Instruction &in = *prog.instructions()->Get(e.instruction);
  json args = {{"step", e.step}, {"instruction", e.instruction}};
  args["source_op"] = in.name() ? in.name()->str() : "";
  args["loc"] = in.loc() ? in.loc()->str() : "";
  if (in.sharding()) args["sharding"] = in.sharding()->str();
  const bool p2p = in.op() == fb::Opcode::Send || in.op() == fb::Opcode::Recv;
  if (e.category == Category::kCollective || e.category == Category::kP2P) {
    // A send moves its operand, a receive its result; a collective its
    // operand (what weft-dump reports as its traffic).
    const uint32_t value = in.op() == fb::Opcode::Recv ? in.results()->Get(0) : in.operands()->Get(0);
    args["bytes"] = Bytes(*prog.values()->Get(value));
    // Collectives and messages name their mesh axis last.
    const int64_t axis = in.ints() && in.ints()->size() ? in.ints()->Get(in.ints()->size() - 1) : -1;
    if (mesh.Has(axis)) {
      args["axis"] = mesh.names[axis];
      if (p2p) {
        // ints: n, peer, axis: the peer's coordinate on the axis, the other
        // coordinates this rank's.
        const int64_t peer_coord = in.ints()->Get(1);
        args["peer"] = e.rank + (peer_coord - mesh.Coord(e.rank, axis)) * mesh.stride[axis];
        args[absl::StrCat("peer_", mesh.names[axis])] = peer_coord;
      }
    }
  } else if (e.category == Category::kCopy && in.results() && in.results()->size()) {
    args["bytes"] = Bytes(*prog.values()->Get(in.results()->Get(0)));
  }
  return args;
}

}  // namespace

absl::StatusOr<std::vector<Event>> GatherEvents(Communicator &comm,
                                                const std::vector<Event> &mine) {
  // Counts first; then everyone's events padded to the longest list, since
  // an all-gather moves the same count from every member. Raw bytes travel
  // as int64 words (the communicators have no byte type).
  const int n = comm.size();
  int64_t count = static_cast<int64_t>(mine.size());
  std::vector<int64_t> counts(n);
  if (absl::Status s = comm.AllGather(&count, counts.data(), 1, DType::kI64); !s.ok()) return s;
  const int64_t most = *std::max_element(counts.begin(), counts.end());
  const size_t words = (most * sizeof(Event) + sizeof(int64_t) - 1) / sizeof(int64_t);
  std::vector<int64_t> send(std::max<size_t>(words, 1)), all(send.size() * n);
  std::memcpy(send.data(), mine.data(), mine.size() * sizeof(Event));
  if (absl::Status s = comm.AllGather(send.data(), all.data(), static_cast<int64_t>(send.size()),
                                      DType::kI64);
      !s.ok())
    return s;
  std::vector<Event> out;
  for (int r = 0; r < n; ++r) {
    const size_t begin = out.size();
    out.resize(begin + counts[r]);
    std::memcpy(static_cast<void *>(out.data() + begin), all.data() + r * send.size(), counts[r] * sizeof(Event));
  }
  return out;
}

absl::Status WriteChromeTrace(const fb::Artifact &a, std::vector<Event> events,
                              const std::vector<int64_t> &clock_error_ns, const std::string &path) {
  std::ofstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot write the trace '", path, "': ", std::strerror(errno)));
  const Mesh mesh(a);
  const int ranks = static_cast<int>(a.ranks()->size());
  // Per rank, per track, in time order: each track's events follow each
  // other (a rank runs its instructions one after another).
  std::stable_sort(events.begin(), events.end(), [](const Event &x, const Event &y) {
    return std::make_tuple(x.rank, x.track, x.start_ns) < std::make_tuple(y.rank, y.track, y.start_ns);
  });
  f << "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  bool first = true;
  auto emit = [&](const json &e) {
    f << (first ? "" : ",\n") << e.dump();
    first = false;
  };
  // Metadata: a process per rank named by its coordinates, a thread per track it used.
  std::set<std::pair<int, int>> tracks;
  for (const Event &e : events) tracks.insert({e.rank, static_cast<int>(e.track)});
  for (int r = 0; r < ranks; ++r) {
    const std::string name =
        absl::StrCat("rank ", r, " (pp ", artifact::AxisCoord(a, r, "pp"), ", dp ",
                     artifact::AxisCoord(a, r, "dp"), ", tp ", artifact::AxisCoord(a, r, "tp"), ")");
    emit({{"ph", "M"}, {"pid", r}, {"tid", 0}, {"name", "process_name"}, {"args", {{"name", name}}}});
    emit({{"ph", "M"}, {"pid", r}, {"tid", 0}, {"name", "process_sort_index"},
          {"args", {{"sort_index", r}}}});
    if (r > 0 && r < static_cast<int>(clock_error_ns.size())) {
      // Its own clock, aligned to rank 0's: how well, in the label Perfetto
      // shows under the name, and as a number for tools.
      const double us = clock_error_ns[r] / 1e3;
      emit({{"ph", "M"}, {"pid", r}, {"tid", 0}, {"name", "process_labels"},
            {"args", {{"labels", absl::StrCat("clock aligned to rank 0 within ",
                                              static_cast<int64_t>(us + 0.5), " us")},
                      {"clock_error_us", us}}}});
    }
  }
  for (const auto &[r, t] : tracks) {
    emit({{"ph", "M"}, {"pid", r}, {"tid", t}, {"name", "thread_name"},
          {"args", {{"name", TrackName(static_cast<Track>(t))}}}});
    emit({{"ph", "M"}, {"pid", r}, {"tid", t}, {"name", "thread_sort_index"},
          {"args", {{"sort_index", t}}}});
  }
  for (const Event &e : events) {
    if (e.rank < 0 || e.rank >= ranks)
      return absl::InternalError(absl::StrCat("a trace event of rank ", e.rank, " of ", ranks));
    const fb::RankProgram &prog = *a.ranks()->Get(e.rank);
    json x = {{"ph", "X"}, {"pid", e.rank}, {"tid", static_cast<int>(e.track)},
              {"cat", CategoryName(e.category)},
              {"ts", e.start_ns / 1e3}, {"dur", e.duration_ns / 1e3}};
    if (e.instruction >= 0 && e.instruction < static_cast<int32_t>(prog.instructions()->size())) {
      x["name"] = artifact::OpcodeName(prog.instructions()->Get(e.instruction)->op());
      x["args"] = InstructionArgs(prog, mesh, e);
    } else {
      x["name"] = e.instruction == kFinishSends ? "finish_sends" : absl::StrCat("step ", e.step);
      x["args"] = {{"step", e.step}};
    }
    emit(x);
  }
  f << "\n]}\n";
  f.close();
  if (!f) return absl::DataLossError(absl::StrCat("writing the trace '", path, "' failed"));
  return absl::OkStatus();
}

}  // namespace weft::trace

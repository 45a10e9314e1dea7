// weft-dump: what a compiled artifact holds. The interface, each rank's
// instructions, and its memory plan with the peak bytes; as text, or as JSON
// with --format=json. The JSON is built first and the text is printed from
// it, so the two never disagree.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <map>
#include <tuple>
#include <set>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/artifact/gemm_epilogue.h"
#include "runtime/artifact/holdings.h"
#include "runtime/artifact/names.h"
#include "runtime/artifact/precision.h"
#include "runtime/artifact/reader.h"
#include "runtime/pipeline/artifact_schedule.h"
#include "runtime/pipeline/render.h"
#include "runtime/tools/plan_picture.h"
#include "weft/tensor.h"

ABSL_FLAG(bool, partition, false,
          "print how the model is split over the mesh: per tensor its sharding and local shape, "
          "per collective its axis, bytes and source op, and per device memory");
ABSL_FLAG(bool, schedule, false,
          "print the pipeline schedule the artifact carries: each rank's forwards and backwards in "
          "time, the bubble fraction and the peak activation memory per stage (--format=svg: the "
          "picture)");
ABSL_FLAG(bool, plan, false,
          "draw the mesh over the cluster as SVG: nodes as boxes, devices inside, the tp groups "
          "outlined, the dp groups joined, the pp stages coloured (--format=text: the same as "
          "text). The cluster comes from the artifact's PlanInfo (weftc --plan=auto); without "
          "it, 8 devices per node");
ABSL_FLAG(bool, kernels, false,
          "print the CUDA C that weftc --target=cuda generated for the fused programs (and "
          "compiled into the artifact)");
ABSL_FLAG(std::string, format, "text",
          "text, json, dot (Graphviz, ops coloured by sharding) or svg (the dot graph through "
          "Graphviz's `dot -Tsvg`)");

namespace {

using nlohmann::json;
namespace fb = weft::fb;


template <typename T>
json List(const flatbuffers::Vector<T> *v) {
  json out = json::array();
  if (v)
    for (auto x : *v) out.push_back(x);
  return out;
}

std::string TypeStr(fb::DType d, const flatbuffers::Vector<int64_t> *shape) {
  std::vector<int64_t> s = shape ? std::vector<int64_t>(shape->begin(), shape->end())
                                 : std::vector<int64_t>{};
  return absl::StrCat(weft::DTypeName(static_cast<weft::DType>(d)), weft::ShapeString(s));
}

int64_t Bytes(const fb::ValueDesc &v) {
  int64_t n = 1;
  for (int64_t d : *v.shape()) n *= d;
  return n * weft::DTypeSize(static_cast<weft::DType>(v.dtype()));
}

using weft::artifact::AxisSize;

std::string ShapeOf(std::vector<int64_t> s) { return weft::ShapeString(s); }

bool IsCollective(fb::Opcode op) {
  return op == fb::Opcode::AllReduce || op == fb::Opcode::ReduceScatter ||
         op == fb::Opcode::AllGather || op == fb::Opcode::AllSlice || op == fb::Opcode::AllToAll;
}

// The mesh axis a collective runs over, by name: its last int indexes `mesh`.
std::string AxisName(const fb::Artifact &a, const fb::Instruction &in) {
  const int64_t axis = in.ints()->Get(in.ints()->size() - 1);
  return a.mesh() && axis < static_cast<int64_t>(a.mesh()->size()) ? a.mesh()->Get(axis)->name()->str()
                                                                     : "mesh";
}

// The partition view: every tensor of the interface with its sharding, and
// every collective of rank 0 with its axis and the op it came from.
json PartitionJson(const fb::Artifact &a) {
  json tensors = json::array();
  const int64_t dp = AxisSize(a, "dp"), tp = AxisSize(a, "tp");
  // `dim` split over tp (`parts`), then, `flat` (ZeRO-1), that flattened over dp.
  auto add = [&](const std::string &kind, const fb::TensorSpec *t, const std::string &sharding,
                 int dim, int64_t parts, bool flat) {
    std::vector<int64_t> global(t->shape()->begin(), t->shape()->end()), local = global;
    if (dim >= 0 && dim < static_cast<int>(local.size())) local[dim] /= parts;
    int64_t elements = 1;
    for (int64_t d : local) elements *= d;
    if (flat) local = {elements / dp};
    int64_t bytes = weft::DTypeSize(static_cast<weft::DType>(t->dtype()));
    for (int64_t d : local) bytes *= d;
    tensors.push_back({{"kind", kind}, {"name", t->name()->str()}, {"global", ShapeOf(global)},
                       {"sharding", sharding}, {"local", ShapeOf(local)}, {"bytes_per_device", bytes}});
  };
  for (const fb::InputSpec *in : *a.inputs())
    add("input", in->tensor(), in->split() && dp > 1 ? "dp: dim 0" : "replicated", 0,
        in->split() ? dp : 1, false);
  // A grouped split (an LSTM's gates) takes its part of each group.
  auto tpSplit = [](const fb::ParamSpec *p) {
    return p->split_groups() > 1
               ? absl::StrCat("tp: dim ", p->split_dim(), " in ", p->split_groups(), " groups")
               : absl::StrCat("tp: dim ", p->split_dim());
  };
  // With pipelines, the stages that hold it ("pp: 1; " when only stage 1,
  // "pp: 0,1 (tied); " for a weight two stages share).
  const int64_t pp = AxisSize(a, "pp");
  auto stages = [&](size_t i, bool is_state) {
    std::vector<int> held;
    for (unsigned r = 0; r < a.ranks()->size(); ++r)
      if (weft::artifact::Holds(a, r, i, is_state) &&
          (held.empty() || held.back() != weft::artifact::AxisCoord(a, r, "pp")))
        held.push_back(weft::artifact::AxisCoord(a, r, "pp"));
    if (pp <= 1) return std::string();
    return absl::StrCat("pp: ", absl::StrJoin(held, ","), held.size() > 1 ? " (tied); " : "; ");
  };
  for (unsigned i = 0; i < a.params()->size(); ++i) {
    const fb::ParamSpec *p = a.params()->Get(i);
    add("parameter", p->tensor(),
        stages(i, false) + (p->split_dim() >= 0 ? tpSplit(p) : "replicated"), p->split_dim(), tp,
        false);
  }
  if (a.states())
    for (unsigned i = 0; i < a.states()->size(); ++i) {
      const fb::ParamSpec *p = a.states()->Get(i);
      add("state", p->tensor(),
          stages(i, true) + (p->split() && p->split_dim() >= 0 ? absl::StrCat(tpSplit(p), ", dp: flat")
                             : p->split()                      ? "dp: flat slice (ZeRO-1)"
                             : p->split_dim() >= 0             ? tpSplit(p)
                                                               : "replicated"),
          p->split_dim(), tp, p->split());
    }
  json collectives = json::array();
  const fb::RankProgram &rank = *a.ranks()->Get(0);
  for (const fb::Instruction *in : *rank.instructions()) {
    // Collectives, and a pipeline's point-to-point transfers (a receive has
    // no operand: its bytes are its result's).
    const bool p2p = in->op() == fb::Opcode::Send || in->op() == fb::Opcode::Recv;
    if (!IsCollective(in->op()) && !p2p) continue;
    const uint32_t value = in->op() == fb::Opcode::Recv ? in->results()->Get(0) : in->operands()->Get(0);
    collectives.push_back(
        {{"op", weft::artifact::OpcodeName(in->op())},
         {"axis", AxisName(a, *in)},
         {"bytes", Bytes(*rank.values()->Get(value))},
         {"source_op", in->name() ? in->name()->str() : ""},
         {"loc", in->loc() ? in->loc()->str() : ""}});
  }
  return {{"tensors", tensors}, {"collectives", collectives}};
}

void PrintPartition(const json &j) {
  std::string mesh;
  for (const json &axis : j["mesh_axes"])
    absl::StrAppend(&mesh, mesh.empty() ? "" : " x ", axis["name"].get<std::string>(), "=",
                    axis["size"].get<int>());
  std::printf("partition of %s over %s (%d ranks)\n\n", j["artifact"].get<std::string>().c_str(),
              mesh.empty() ? "one device" : mesh.c_str(), j["num_ranks"].get<int>());
  std::printf("%-10s %-34s %-16s %-26s %-16s %14s\n", "kind", "tensor", "global", "sharding",
              "local", "bytes/device");
  for (const json &t : j["partition"]["tensors"])
    std::printf("%-10s %-34s %-16s %-26s %-16s %14lld\n", t["kind"].get<std::string>().c_str(),
                t["name"].get<std::string>().c_str(), t["global"].get<std::string>().c_str(),
                t["sharding"].get<std::string>().c_str(), t["local"].get<std::string>().c_str(),
                static_cast<long long>(t["bytes_per_device"].get<int64_t>()));
  // Collectives (and a pipeline's sends and receives): one row per (op, axis,
  // bytes, source op), with its count per step.
  std::map<std::tuple<std::string, std::string, int64_t, std::string>, std::pair<int, std::string>> rows;
  for (const json &c : j["partition"]["collectives"]) {
    auto &row = rows[{c["op"].get<std::string>(), c["axis"].get<std::string>(),
                      c["bytes"].get<int64_t>(), c["source_op"].get<std::string>()}];
    if (row.first++ == 0) row.second = c["loc"].get<std::string>();
  }
  std::printf("\ncollectives per step (rank 0):\n%-16s %-5s %12s %6s  %-s\n", "op", "axis", "bytes",
              "count", "from (first source location)");
  for (const auto &[key, row] : rows)
    std::printf("%-16s %-5s %12lld %6d  %s %s\n", std::get<0>(key).c_str(), std::get<1>(key).c_str(),
                static_cast<long long>(std::get<2>(key)), row.first, std::get<3>(key).c_str(),
                row.second.c_str());
  const json &r0 = j["ranks"][0];
  const int64_t params = r0["parameter_bytes"].get<int64_t>(), state = r0["state_bytes"].get<int64_t>(),
                arena = r0["arena_bytes"].get<int64_t>(), grads = r0["gradient_bytes"].get<int64_t>(),
                acts = r0["activation_bytes"].get<int64_t>();
  std::printf("\nmemory per device (rank 0): parameters %lld, gradients %lld, optimizer state %lld, "
              "activations %lld, total %lld bytes\n  (gradients and activations: the planned arena of "
              "%lld bytes at its peak, the first instruction where the most of it is live; %lld more "
              "bytes of it are lost to fragmentation)\n",
              static_cast<long long>(params), static_cast<long long>(grads), static_cast<long long>(state),
              static_cast<long long>(acts), static_cast<long long>(params + state + arena),
              static_cast<long long>(arena), static_cast<long long>(arena - grads - acts));
}

json ToJson(const weft::artifact::Artifact &art) {
  const fb::Artifact &a = *art.root;
  json j;
  j["artifact"] = art.name;
  j["format_version"] = a.format_version();
  j["source"] = a.source() ? a.source()->str() : "";
  // Older artifacts have none: f32.
  j["precision"] = a.precision() ? a.precision()->str() : std::string(weft::artifact::kPrecisionF32);
  for (const fb::InputSpec *in : *a.inputs())
    j["inputs"].push_back({{"name", in->tensor()->name()->str()},
                           {"type", TypeStr(in->tensor()->dtype(), in->tensor()->shape())},
                           {"int_bound", in->int_bound()}});
  // Per device: the most any rank holds (pipeline stages differ).
  int64_t param_bytes = 0, whole_param_bytes = 0, state_bytes = 0;
  for (unsigned r = 0; r < a.ranks()->size(); ++r) {
    param_bytes = std::max(param_bytes, weft::artifact::HeldBytes(a, r, false));
    state_bytes = std::max(state_bytes, weft::artifact::HeldBytes(a, r, true));
  }
  for (const fb::ParamSpec *p : *a.params()) {
    int64_t n = weft::DTypeSize(static_cast<weft::DType>(p->tensor()->dtype()));
    for (int64_t d : *p->tensor()->shape()) n *= d;
    whole_param_bytes += n;
    j["parameters"].push_back({{"name", p->tensor()->name()->str()},
                               {"type", TypeStr(p->tensor()->dtype(), p->tensor()->shape())},
                               {"bytes", n},
                               {"init", {{"dist", weft::artifact::DistName(p->init()->dist())},
                                         {"a", p->init()->a()},
                                         {"b", p->init()->b()}}}});
  }
  j["parameter_bytes"] = param_bytes;  // on one device
  j["parameter_bytes_whole"] = whole_param_bytes;
  j["states"] = json::array();
  if (a.states())
    for (const fb::ParamSpec *p : *a.states()) {
      int64_t n = weft::DTypeSize(static_cast<weft::DType>(p->tensor()->dtype()));
      for (int64_t d : weft::artifact::LocalShape(a, *p, true)) n *= d;  // a holder's piece
      j["states"].push_back({{"name", p->tensor()->name()->str()},
                             {"type", TypeStr(p->tensor()->dtype(), p->tensor()->shape())},
                             {"bytes", n}});
    }
  j["state_bytes"] = state_bytes;
  // Device code (weftc --target=cuda): per binary its target and size; the
  // source itself with --cuda-source.
  j["kernels"] = json::array();
  if (a.kernels())
    for (const fb::KernelBinary *k : *a.kernels())
      j["kernels"].push_back({{"name", k->name() ? k->name()->str() : ""},
                              {"target", k->target() ? k->target()->str() : ""},
                              {"bytes", k->data() ? k->data()->size() : 0}});
  for (const fb::OutputSpec *o : *a.outputs())
    j["outputs"].push_back({{"name", o->name()->str()}, {"is_loss", o->is_loss()}});
  j["mesh"] = json::object();
  j["mesh_axes"] = json::array();  // in the mesh's order, outermost first
  if (a.mesh())
    for (const fb::MeshAxis *ax : *a.mesh()) {
      j["mesh"][ax->name()->str()] = ax->size();
      j["mesh_axes"].push_back({{"name", ax->name()->str()}, {"size", ax->size()}});
    }
  j["num_ranks"] = a.ranks()->size();
  j["partition"] = PartitionJson(a);
  for (unsigned r = 0; r < a.ranks()->size(); ++r) {
    const fb::RankProgram &rank = *a.ranks()->Get(r);
    json jr;
    jr["rank"] = r;
    jr["arena_bytes"] = rank.arena_bytes();
    jr["gradient_bytes"] = rank.gradient_bytes();  // the arena's peak, split
    jr["activation_bytes"] = rank.activation_bytes();
    if (AxisSize(a, "pp") > 1) jr["stage"] = weft::artifact::AxisCoord(a, r, "pp");
    jr["parameter_bytes"] = weft::artifact::HeldBytes(a, r, false);
    jr["state_bytes"] = weft::artifact::HeldBytes(a, r, true);
    jr["peak_bytes"] = rank.arena_bytes() + jr["parameter_bytes"].get<int64_t>() +
                       jr["state_bytes"].get<int64_t>();
    for (unsigned i = 0; i < rank.values()->size(); ++i) {
      const fb::ValueDesc &v = *rank.values()->Get(i);
      jr["values"].push_back({{"id", i},
                              {"type", TypeStr(v.dtype(), v.shape())},
                              {"storage", weft::artifact::StorageName(v.storage())},
                              {v.storage() == fb::Storage::Arena ? "offset" : "index", v.index()},
                              {"bytes", Bytes(v)}});
    }
    for (const fb::Instruction *in : *rank.instructions()) {
      json ji = {{"op", weft::artifact::OpcodeName(in->op())},
                 {"source_op", in->name() ? in->name()->str() : ""},
                 {"loc", in->loc() ? in->loc()->str() : ""},
                 {"sharding", in->sharding() ? in->sharding()->str() : ""},
                 {"operands", List(in->operands())},
                 {"results", List(in->results())}};
      if (in->ints() && in->ints()->size()) ji["ints"] = List(in->ints());
      // Matmul and attention's 8th int (--precision=bf16).
      if ((in->op() == fb::Opcode::Matmul || in->op() == fb::Opcode::Attention ||
           in->op() == fb::Opcode::AttentionGrad) &&
          in->ints() && in->ints()->size() > 7 && in->ints()->Get(7) != 0)
        ji["bf16_inputs"] = true;
      // weftc --target=cuda's folded epilogue (gemm_epilogue.h).
      if (in->op() == fb::Opcode::Matmul && in->ints() &&
          in->ints()->size() > weft::artifact::kGemmEpilogueInt &&
          in->ints()->Get(weft::artifact::kGemmEpilogueInt) != 0)
        ji["epilogue"] = std::string(weft::artifact::GemmEpilogueName(
            static_cast<weft::artifact::GemmEpilogue>(in->ints()->Get(weft::artifact::kGemmEpilogueInt))));
      if (in->floats() && in->floats()->size()) ji["floats"] = List(in->floats());
      if (const fb::FusedProgram *p = in->fused()) {
        json steps = json::array();
        for (const fb::FusedStep *s : *p->steps())
          steps.push_back({{"op", weft::artifact::EwOpName(s->op())}, {"a", s->a()}, {"b", s->b()}});
        json loads = json::array();
        for (const fb::FusedLoad *l : *p->loads())
          loads.push_back({{"operand", l->operand()}, {"strides", List(l->strides())}});
        ji["fused"] = {{"shape", List(p->shape())}, {"loads", loads}, {"steps", steps},
                       {"outputs", List(p->outputs())}};
      }
      if (in->kernel()) ji["kernel"] = in->kernel()->str();
      if (const fb::CopySpec *c = in->copy())
        ji["copy"] = {{"shape", List(c->shape())},       {"src_offset", c->src_offset()},
                      {"src_strides", List(c->src_strides())}, {"dst_offset", c->dst_offset()},
                      {"dst_strides", List(c->dst_strides())}};
      jr["instructions"].push_back(ji);
    }
    // Collective traffic of one step on this rank: what the mesh costs.
    json collectives = json::object();
    for (const fb::Instruction *in : *rank.instructions()) {
      // Traffic: all_slice moves no data.
      if (!IsCollective(in->op()) || in->op() == fb::Opcode::AllSlice) continue;
      const fb::ValueDesc &v = *rank.values()->Get(in->operands()->Get(0));
      const std::string kind = weft::artifact::OpcodeName(in->op());
      if (!collectives.contains(kind)) collectives[kind] = {{"count", 0}, {"bytes", int64_t{0}}};
      json &c = collectives[kind];
      c["count"] = c["count"].get<int>() + 1;
      c["bytes"] = c["bytes"].get<int64_t>() + Bytes(v);
      // And per mesh axis (the last int): on dp x tp, which group pays.
      json &by = c["by_axis"][AxisName(a, *in)];
      if (by.is_null()) by = {{"count", 0}, {"bytes", int64_t{0}}};
      by["count"] = by["count"].get<int>() + 1;
      by["bytes"] = by["bytes"].get<int64_t>() + Bytes(v);
    }
    jr["collectives"] = collectives;
    // Pipeline messages to and from the neighbouring stages.
    json messages = json::object();
    for (const fb::Instruction *in : *rank.instructions()) {
      if (in->op() != fb::Opcode::Send && in->op() != fb::Opcode::Recv) continue;
      const bool send = in->op() == fb::Opcode::Send;
      const fb::ValueDesc &v =
          *rank.values()->Get(send ? in->operands()->Get(0) : in->results()->Get(0));
      json &m = messages[send ? "send" : "recv"];
      if (m.is_null()) m = {{"count", 0}, {"bytes", int64_t{0}}};
      m["count"] = m["count"].get<int>() + 1;
      m["bytes"] = m["bytes"].get<int64_t>() + Bytes(v);
    }
    jr["point_to_point"] = messages;
    jr["interface"] = {{"inputs", List(rank.inputs())},
                       {"parameters", List(rank.params())},
                       {"outputs", List(rank.outputs())}};
    j["ranks"].push_back(jr);
  }
  return j;
}

std::string Join(const json &a) {
  std::vector<std::string> parts;
  for (const json &x : a) parts.push_back(x.dump());
  return absl::StrJoin(parts, ", ");
}

void PrintText(const json &j) {
  std::printf("artifact %s (format %d) from %s\n", j["artifact"].get<std::string>().c_str(),
              j["format_version"].get<int>(), j["source"].get<std::string>().c_str());
  if (!j["mesh_axes"].empty()) {
    std::vector<std::string> axes;
    for (const json &axis : j["mesh_axes"])
      axes.push_back(absl::StrCat(axis["name"].get<std::string>(), "=", axis["size"].get<int>()));
    std::printf("mesh: %s, %d ranks\n", absl::StrJoin(axes, ", ").c_str(), j["num_ranks"].get<int>());
  }
  if (!j["kernels"].empty()) {
    std::set<std::string> generated;
    for (const json &r : j["ranks"])
      for (const json &in : r["instructions"])
        if (in.contains("kernel")) generated.insert(in["kernel"].get<std::string>());
    std::vector<std::string> binaries;
    for (const json &k : j["kernels"])
      binaries.push_back(absl::StrCat(k["target"].get<std::string>(), " ", k["bytes"].get<int64_t>(),
                                      " bytes"));
    std::printf("cuda: %zu generated fused kernels; %s (weft-dump --kernels prints them)\n",
                generated.size(), absl::StrJoin(binaries, ", ").c_str());
  }
  std::printf("precision: %s\n",
              std::string(weft::artifact::PrecisionSummary(j["precision"].get<std::string>())).c_str());
  std::printf("\ninputs:\n");
  for (const json &in : j.value("inputs", json::array()))
    std::printf("  %-24s %s%s\n", in["name"].get<std::string>().c_str(),
                in["type"].get<std::string>().c_str(),
                in["int_bound"].get<int64_t>() ? absl::StrCat("  values in [0, ", in["int_bound"].get<int64_t>(), ")").c_str() : "");
  const int64_t whole = j["parameter_bytes_whole"].get<int64_t>(),
                mine = j["parameter_bytes"].get<int64_t>();
  const bool pp = j["mesh"].contains("pp"), tp = j["mesh"].contains("tp");
  std::printf("\nparameters: %zu, %lld bytes%s\n", j.value("parameters", json::array()).size(),
              static_cast<long long>(whole),
              mine == whole ? ""
                            : absl::StrCat(" (", mine, " per device: ",
                                           pp && tp ? "pipeline stages, tensor parallel"
                                           : pp     ? "pipeline stages"
                                                    : "tensor parallel",
                                           ")")
                                  .c_str());
  for (const json &p : j.value("parameters", json::array()))
  {
    const std::string dist = p["init"]["dist"];
    const std::string args = dist == "zeros" || dist == "ones" ? ""
                             : dist == "normal" ? absl::StrCat("(mean ", p["init"]["a"].get<double>(), ", std ", p["init"]["b"].get<double>(), ")")
                                                : absl::StrCat("(", p["init"]["a"].get<double>(), ", ", p["init"]["b"].get<double>(), ")");
    std::printf("  %-32s %-18s init %s%s\n", p["name"].get<std::string>().c_str(),
                p["type"].get<std::string>().c_str(), dist.c_str(), args.c_str());
  }
  if (!j["states"].empty()) {
    std::printf("\noptimizer state: %zu tensors, %lld bytes (updated in place with the parameters)\n",
                j["states"].size(), static_cast<long long>(j["state_bytes"].get<int64_t>()));
    for (const json &st : j["states"])
      if (st["name"].get<std::string>().rfind("optimizer.step", 0) == 0 || j["states"].size() <= 8)
        std::printf("  %-32s %s\n", st["name"].get<std::string>().c_str(), st["type"].get<std::string>().c_str());
  }
  std::printf("\noutputs:\n");
  for (const json &o : j.value("outputs", json::array()))
    std::printf("  %s%s\n", o["name"].get<std::string>().c_str(), o["is_loss"].get<bool>() ? " (loss)" : "");
  // Data-parallel ranks run one shared program: print each distinct one once
  // (pipeline stages each have their own).
  std::vector<const json *> printed;
  for (const json &r : j["ranks"]) {
    auto same = std::find_if(printed.begin(), printed.end(), [&](const json *p) {
      return (*p)["instructions"] == r["instructions"] && (*p)["values"] == r["values"];
    });
    if (same != printed.end()) {
      std::printf("\nrank %d: the same program as rank %d\n", r["rank"].get<int>(),
                  (**same)["rank"].get<int>());
      continue;
    }
    printed.push_back(&r);
    const json &values = r["values"];
    if (r.contains("stage"))  // a pipeline stage: what it holds differs from the others'
      std::printf("\nrank %d (pipeline stage %d): %zu instructions, arena %lld bytes, parameters %lld, "
                  "optimizer state %lld, peak %lld bytes (arena + parameters + state)\n",
                  r["rank"].get<int>(), r["stage"].get<int>(), r["instructions"].size(),
                  static_cast<long long>(r["arena_bytes"].get<int64_t>()),
                  static_cast<long long>(r["parameter_bytes"].get<int64_t>()),
                  static_cast<long long>(r["state_bytes"].get<int64_t>()),
                  static_cast<long long>(r["peak_bytes"].get<int64_t>()));
    else
      std::printf("\nrank %d: %zu instructions, arena %lld bytes, peak %lld bytes (arena + parameters + state)\n",
                  r["rank"].get<int>(), r["instructions"].size(),
                  static_cast<long long>(r["arena_bytes"].get<int64_t>()),
                  static_cast<long long>(r["peak_bytes"].get<int64_t>()));
    for (const auto &[kind, c] : r["collectives"].items()) {
      std::string name = kind;
      std::replace(name.begin(), name.end(), '_', '-');
      std::string split;  // per axis, when there are several
      if (c["by_axis"].size() > 1)
        for (const auto &[axis, by] : c["by_axis"].items())
          absl::StrAppend(&split, split.empty() ? " (" : "; ", axis, ": ", by["count"].get<int>(),
                          ", ", by["bytes"].get<int64_t>(), " bytes");
      std::printf("collectives per step: %d %ss, %lld bytes%s\n", c["count"].get<int>(), name.c_str(),
                  static_cast<long long>(c["bytes"].get<int64_t>()),
                  split.empty() ? "" : (split + ")").c_str());
    }
    for (const char *kind : {"send", "recv"})
      if (const json &m = r["point_to_point"].value(kind, json()); !m.is_null())
        std::printf("point to point per step: %d %ss, %lld bytes\n", m["count"].get<int>(),
                    kind == std::string("send") ? "send" : "receive",
                    static_cast<long long>(m["bytes"].get<int64_t>()));
    int i = 0;
    for (const json &in : r["instructions"]) {
      std::vector<std::string> res, ops;
      for (const json &id : in["results"])
        res.push_back(absl::StrCat("%", id.get<int>(), ":", values[id.get<int>()]["type"].get<std::string>()));
      for (const json &id : in["operands"]) ops.push_back(absl::StrCat("%", id.get<int>()));
      std::string detail;
      if (in.contains("fused")) {
        std::vector<std::string> steps;
        for (const json &s : in["fused"]["steps"]) steps.push_back(s["op"]);
        detail = absl::StrCat(" {", in["fused"]["loads"].size(), " loads; ", absl::StrJoin(steps, " "), "}");
        if (in.contains("kernel")) absl::StrAppend(&detail, " ", in["kernel"].get<std::string>());
      } else if (in.contains("ints")) {
        detail = absl::StrCat(" [", Join(in["ints"]), "]");
      }
      if (in.value("bf16_inputs", false)) detail += " bf16-inputs";
      if (in.contains("epilogue")) absl::StrAppend(&detail, " epilogue ", in["epilogue"].get<std::string>());
      std::printf("  #%-3d %-24s = %-13s %s%s   %s\n", i++, absl::StrJoin(res, ", ").c_str(),
                  in["op"].get<std::string>().c_str(), absl::StrJoin(ops, ", ").c_str(),
                  detail.c_str(), in["loc"].get<std::string>().c_str());
    }
    std::printf("\nmemory plan (arena offsets):\n");
    for (const json &v : values)
      if (v["storage"] == "arena")
        std::printf("  %%%-4d [%10lld, %10lld)  %s\n", v["id"].get<int>(),
                    static_cast<long long>(v["offset"].get<int64_t>()),
                    static_cast<long long>(v["offset"].get<int64_t>() + v["bytes"].get<int64_t>()),
                    v["type"].get<std::string>().c_str());
  }
}

// The fill of an instruction node by its result's sharding label (see
// ShardingAnalysis::label): one fixed colour per class, so that graphs of
// different models read the same. Old artifacts have no label: no fill.
const char *ShardingColour(const std::string &label) {
  if (label.find('?') != std::string::npos) return "#ffffff";       // undecided
  if (label.find("partial") != std::string::npos) return "#ffc870"; // partial sum: orange
  const bool dp = label.find("dp:") != std::string::npos, tp = label.find("tp:") != std::string::npos;
  if (dp && tp) return "#b39ddb";                                    // dp + tp: purple
  if (dp) return "#90caf9";                                          // dp-split: blue
  if (tp) return "#a5d6a7";                                          // tp-split: green
  return "#e0e0e0";                                                  // replicated: grey
}

std::string ShardingStyle(const std::string &label) {
  if (label.empty()) return "";
  return absl::StrCat(", style=filled, fillcolor=\"", ShardingColour(label), "\"");
}

void PrintShardingLegend(FILE *out) {
  std::fprintf(out, "  subgraph cluster_legend {\n    label=\"sharding\";\n");
  const char *classes[][2] = {{"replicated", "replicated"}, {"dp-split", "[dp:0]"},
                              {"tp-split", "[tp:1]"},       {"dp+tp", "[dp:0, tp:1]"},
                              {"partial sum", "[partial(tp)]"}};
  int k = 0;
  for (const auto &[name, example] : classes)
    std::fprintf(out, "    legend%d [shape=box%s, label=\"%s\"];\n", k++, ShardingStyle(example).c_str(), name);
  std::fprintf(out, "    legend%d [shape=box, color=red, fontcolor=red, penwidth=2, label=\"collective\"];\n", k);
  std::fprintf(out, "  }\n");
}

// Graphviz's dot on PATH, or empty.
std::string FindDot() {
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = absl::StrCat(dirs.substr(start, end - start), "/dot");
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// The dataflow of rank 0's program as a Graphviz graph: one box per
// instruction (kernel, source line, result types), one ellipse per input,
// parameter or state it reads, edges along the values. Each instruction is
// filled with the colour of its result's sharding (a legend lists them), and
// collectives keep a red outline, so the communication stands out.
void PrintDot(const json &j, FILE *out) {
  const json &r = j["ranks"][0];
  const json &values = r["values"];
  std::fprintf(out, "digraph weft {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
  // Say whose program this is: with pipelines the ranks' programs differ.
  if (j["ranks"].size() > 1)
    std::fprintf(out, "  labelloc=t;\n  label=\"rank 0's program (of %zu ranks%s)\";\n",
                 j["ranks"].size(), j["mesh"].contains("pp") ? "; the other pp stages run other programs" : "");
  std::map<int, std::string> producer;  // value id -> node
  std::set<int> computed;                // values some instruction writes
  for (const json &in : r["instructions"])
    for (const json &res : in["results"]) computed.insert(res.get<int>());
  for (const json &v : values) {
    const std::string storage = v["storage"];
    if (storage == "arena" || storage == "output" || storage == "constant" ||
        computed.count(v["id"].get<int>()))
      continue;
    const int id = v["id"];
    const std::string node = absl::StrCat("v", id);
    producer[id] = node;
    std::fprintf(out, "  %s [shape=ellipse, label=\"%s %%%d\\n%s\"];\n", node.c_str(), storage.c_str(), id,
                v["type"].get<std::string>().c_str());
  }
  int i = 0;
  for (const json &in : r["instructions"]) {
    const std::string node = absl::StrCat("i", i);
    std::vector<std::string> types;
    for (const json &res : in["results"]) types.push_back(values[res.get<int>()]["type"]);
    const bool collective = in["op"] == "all_reduce" || in["op"] == "reduce_scatter" ||
                            in["op"] == "all_gather";
    const std::string sharding = in.value("sharding", "");
    std::fprintf(out, "  %s [shape=box%s%s, label=\"#%d %s\\n%s\\n%s%s\"];\n", node.c_str(),
                collective ? ", color=red, fontcolor=red, penwidth=2" : "",
                ShardingStyle(sharding).c_str(), i, in["op"].get<std::string>().c_str(),
                in["loc"].get<std::string>().c_str(), absl::StrJoin(types, ", ").c_str(),
                sharding.empty() ? "" : ("\\n" + sharding).c_str());
    for (const json &op : in["operands"])
      if (auto it = producer.find(op.get<int>()); it != producer.end())
        std::fprintf(out, "  %s -> %s;\n", it->second.c_str(), node.c_str());
    for (const json &res : in["results"]) producer[res.get<int>()] = node;
    ++i;
  }
  if (std::any_of(r["instructions"].begin(), r["instructions"].end(),
                  [](const json &in) { return !in.value("sharding", "").empty(); }))
    PrintShardingLegend(out);
  std::fprintf(out, "}\n");
}

// --schedule: the artifact's Pipeline table, checked and simulated by the
// schedule core, drawn by its renderers.
int PrintSchedule(const weft::artifact::Artifact &art, const std::string &format) {
  namespace pl = weft::pipeline;
  if (format != "text" && format != "svg") {
    std::cerr << "weft-dump: error: --schedule writes --format=text or svg, not " << format << "\n";
    return 2;
  }
  absl::StatusOr<pl::ArtifactSchedule> read = pl::ReadArtifactSchedule(*art.root);
  if (!read.ok()) {
    std::cerr << "weft-dump: error: " << art.name << ": " << read.status().message() << "\n";
    return 1;
  }
  // The lists must pass the check with blocking sends (what the compiler
  // proves); the times shown are the runtime's, whose sends are buffered.
  absl::StatusOr<pl::Simulation> sim = pl::Simulate(read->schedule, read->costs);
  if (sim.ok()) sim = pl::Simulate(read->schedule, read->costs, pl::SendMode::kBuffered);
  if (!sim.ok()) {
    std::cerr << "weft-dump: error: " << art.name << ": the pipeline schedule fails the check: "
              << sim.status().message() << "\n";
    return 1;
  }
  if (format == "svg") {
    std::cout << pl::RenderSvg(read->schedule, *sim, read->costs);
    return 0;
  }
  std::cout << pl::RenderText(read->schedule, *sim, read->costs);
  if (read->seconds_per_unit > 0)
    std::printf("times in units of the stages' mean forward (%.3g s in the cost model)\n",
                read->seconds_per_unit);
  const int P = read->schedule.options.stages, V = read->schedule.options.virtual_stages;
  // "rank r" above is the pp coordinate; with dp or tp it stands for a group.
  const int64_t group = static_cast<int64_t>(art.root->ranks()->size()) / P;
  if (group > 1)
    std::printf("rank r above is pp rank r: mesh ranks %lldr to %lldr+%lld, which run the same "
                "list on their dp x tp slices\n",
                static_cast<long long>(group), static_cast<long long>(group),
                static_cast<long long>(group - 1));
  const std::vector<int> peak = pl::PeakInFlightPerStage(read->schedule);
  std::printf("peak activation memory per stage (in-flight microbatches x stash bytes):\n");
  for (int s = 0; s < P * V; ++s)
    std::printf("  stage %d (rank %d%s, blocks %lld-%lld): %d x %lld = %lld bytes\n", s,
                pl::RankOfStage(s, P),
                V > 1 ? absl::StrCat(", chunk ", pl::ChunkOfStage(s, P)).c_str() : "",
                static_cast<long long>(read->first_block[s]), static_cast<long long>(read->last_block[s]),
                peak[s], static_cast<long long>(read->stash_bytes[s]),
                static_cast<long long>(peak[s] * read->stash_bytes[s]));
  return 0;
}

// --plan: the mesh over the cluster, from the mesh axes and the PlanInfo.
int PrintPlan(const weft::artifact::Artifact &art, bool svg) {
  const fb::Artifact &a = *art.root;
  weft::tools::PlanPicture p;
  if (a.mesh())
    for (const fb::MeshAxis *ax : *a.mesh()) p.axes.push_back({ax->name()->str(), ax->size()});
  if (const fb::PlanInfo *plan = a.plan()) {
    p.cluster_known = true;
    p.cluster = plan->cluster() ? plan->cluster()->str() : "";
    p.device_kind = plan->device_kind() ? plan->device_kind()->str() : "device";
    p.summary = plan->summary() ? plan->summary()->str() : "";
    p.devices_per_node = plan->devices_per_node() > 0 ? plan->devices_per_node()
                                                      : weft::tools::kDefaultDevicesPerNode;
    p.step_time_s = plan->step_time_s();
    p.compute_s = plan->compute_s();
    p.communication_s = plan->communication_s();
    p.bubble_s = plan->bubble_s();
    p.tflops_per_device = plan->tflops_per_device();
  } else {
    p.devices_per_node = weft::tools::kDefaultDevicesPerNode;
    std::cerr << "weft-dump: note: " << art.name << " records no cluster (it was compiled with "
              << "--mesh, not --plan=auto): drawing " << p.devices_per_node
              << " devices per node\n";
  }
  std::cout << (svg ? weft::tools::RenderPlanSvg(p) : weft::tools::RenderPlanText(p));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("Shows a compiled Weft artifact: weft-dump model.weft [--format=json]");
  absl::FlagsUsageConfig usage;  // --help lists this tool's flags
  usage.contains_help_flags = [](absl::string_view file) {
    return file.find("weft_dump") != absl::string_view::npos;
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<char *> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: weft-dump model.weft [--partition | --schedule | --plan | --kernels] [--format=text|json|dot|svg]\n";
    return 2;
  }
  auto art = weft::artifact::ReadArtifactFile(args[1]);
  if (!art.ok()) {
    std::cerr << "weft-dump: error: " << art.status().message() << "\n";
    return 1;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (absl::GetFlag(FLAGS_schedule)) return PrintSchedule(**art, format);
  if (absl::GetFlag(FLAGS_kernels)) {
    const fb::Artifact &a = *(*art)->root;
    if (a.kernels())
      for (const fb::KernelBinary *k : *a.kernels())
        if (k->target() && k->target()->str() == "cuda-source") {
          std::fwrite(k->data()->data(), 1, k->data()->size(), stdout);
          return 0;
        }
    std::cerr << "weft-dump: error: " << args[1]
              << " has no CUDA kernels; compile it with weftc --target=cuda\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_plan)) {
    // An SVG unless text is asked for by name.
    bool text = false;
    for (int i = 1; i < argc; ++i)
      text |= std::string(argv[i]) == "--format=text";
    if (format != "text" && format != "svg") {
      std::cerr << "weft-dump: error: --plan writes svg (the default) or --format=text, not " << format
                << "\n";
      return 2;
    }
    return PrintPlan(**art, !text);
  }
  json j = ToJson(**art);
  if (format == "json") {
    std::cout << j.dump(2) << "\n";
  } else if (format == "text" && absl::GetFlag(FLAGS_partition)) {
    PrintPartition(j);
  } else if (format == "text") {
    PrintText(j);
  } else if (format == "dot") {
    PrintDot(j, stdout);
  } else if (format == "svg") {
    const std::string dot = FindDot();
    if (dot.empty()) {
      std::cerr << "weft-dump: error: --format=svg needs Graphviz's `dot` on PATH (apt-get install "
                   "graphviz); --format=dot writes the graph without it\n";
      return 1;
    }
    std::fflush(stdout);  // dot writes the SVG to our stdout
    FILE *pipe = popen(absl::StrCat("'", dot, "' -Tsvg").c_str(), "w");
    if (!pipe) {
      std::cerr << "weft-dump: error: could not start " << dot << "\n";
      return 1;
    }
    PrintDot(j, pipe);
    if (int status = pclose(pipe); status != 0) {
      std::cerr << "weft-dump: error: " << dot << " -Tsvg failed (status " << status << ")\n";
      return 1;
    }
  } else {
    std::cerr << "weft-dump: error: unknown --format=" << format << "; expected text, json, dot or svg\n";
    return 2;
  }
  return 0;
}

// weft-run: loads a compiled model and runs it.
//
//   weft-run model.weft                                   synthetic inputs, seeded init
//   weft-run model.weft --weights=w.safetensors --inputs=batch.npz --outputs=out.npz
//   weft-run model.weft --steps=20 --report=report.json   timings and peak memory
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/executor/init.h"
#include "runtime/io/npy.h"
#include "weft/runtime.h"

ABSL_FLAG(std::string, backend, "cpu", "cpu or cuda");
ABSL_FLAG(std::string, weights, "", "Parameters from a safetensors file (default: init from --seed)");
ABSL_FLAG(std::string, inputs, "", "Inputs from a .npz file (default: synthetic from --seed)");
ABSL_FLAG(std::string, outputs, "", "Write the last step's outputs to this .npz file");
ABSL_FLAG(std::string, save, "", "Write the parameters to this safetensors file");
ABSL_FLAG(std::string, report, "", "Write timings and peak memory as JSON");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the parameter init and the synthetic inputs");
ABSL_FLAG(int, steps, 1, "Steps to run (each on the same inputs)");
ABSL_FLAG(int, threads, 0, "CPU threads (0: all cores)");
ABSL_FLAG(bool, profile, false, "Time every instruction; print the time per kernel and the top 10");

namespace {

int Fail(const absl::Status &s) {
  std::cerr << "weft-run: error: " << s.message() << "\n";
  return 1;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Synthetic inputs: normal floats, and integers in their valid range.
std::map<std::string, weft::Tensor> SyntheticInputs(const weft::Program &p, uint64_t seed) {
  std::map<std::string, weft::Tensor> inputs;
  for (const weft::TensorInfo &in : p.inputs()) {
    weft::Tensor t(in.dtype, in.shape);
    if (in.dtype == weft::DType::kI32 || in.dtype == weft::DType::kI64)
      weft::FillRandomInts(t, in.int_bound, seed, "input:" + in.name);
    else
      weft::FillRandom(t, weft::InitDist::kNormal, 0.0f, 1.0f, seed, "input:" + in.name);
    inputs[in.name] = t;
  }
  return inputs;
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("Runs a compiled Weft model: weft-run model.weft [flags]");
  std::vector<char *> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: weft-run model.weft [--weights=..] [--inputs=..] [--outputs=..] "
                 "[--steps=N] [--report=..] (--help for all flags)\n";
    return 2;
  }
  const std::string model = args[1];
  auto start = std::chrono::steady_clock::now();
  auto runtime = weft::Runtime::Create(
      {absl::GetFlag(FLAGS_backend), absl::GetFlag(FLAGS_threads)});
  if (!runtime.ok()) return Fail(runtime.status());
  auto program = (*runtime)->Load(model);
  if (!program.ok()) return Fail(program.status());
  weft::Program &p = **program;
  const double load_s = Seconds(start);

  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  absl::Status s = absl::GetFlag(FLAGS_weights).empty()
                       ? p.InitParameters(seed)
                       : p.LoadParameters(absl::GetFlag(FLAGS_weights));
  if (!s.ok()) return Fail(s);

  std::map<std::string, weft::Tensor> inputs;
  if (!absl::GetFlag(FLAGS_inputs).empty()) {
    auto read = weft::io::ReadNpz(absl::GetFlag(FLAGS_inputs));
    if (!read.ok()) return Fail(read.status());
    inputs = *read;
  } else {
    inputs = SyntheticInputs(p, seed);
  }

  const int steps = std::max(1, absl::GetFlag(FLAGS_steps));
  p.set_profiling(absl::GetFlag(FLAGS_profile));
  std::vector<double> step_s;
  std::map<std::string, weft::Tensor> outputs;
  for (int i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = p.Run(inputs);
    if (!out.ok()) return Fail(out.status());
    outputs = std::move(*out);
    step_s.push_back(Seconds(t0));
    if (steps > 1)
      std::fprintf(stderr, "\rstep %d/%d  %.2f ms", i + 1, steps, step_s.back() * 1e3);
  }
  if (steps > 1) std::fprintf(stderr, "\n");

  for (const weft::TensorInfo &o : p.outputs()) {
    const weft::Tensor &t = outputs[o.name];
    if (t.num_elements() == 1 && t.dtype() == weft::DType::kF32)
      std::printf("%s = %.6g\n", o.name.c_str(), t.data_as<float>()[0]);
    else
      std::printf("%s: %s\n", o.name.c_str(), t.DebugString().c_str());
  }
  double best = *std::min_element(step_s.begin(), step_s.end());
  std::printf("step time: %.3f ms (best of %d); peak memory %.2f MB (arena %.2f MB)\n",
              best * 1e3, steps, p.peak_bytes() / 1e6, p.arena_bytes() / 1e6);

  nlohmann::json profile_json = nlohmann::json::array();
  if (absl::GetFlag(FLAGS_profile)) {
    std::vector<weft::InstructionProfile> prof = p.profile();
    std::map<std::string, std::pair<double, int64_t>> by_kernel;
    double total = 0;
    for (const auto &e : prof) {
      by_kernel[e.kernel].first += e.seconds;
      by_kernel[e.kernel].second += e.calls;
      total += e.seconds;
      profile_json.push_back({{"kernel", e.kernel}, {"source_op", e.source_op}, {"loc", e.loc},
                              {"calls", e.calls}, {"seconds", e.seconds}});
    }
    std::printf("\nprofile over %d steps (%.1f ms per step in instructions):\n", steps,
                total / steps * 1e3);
    std::vector<std::pair<double, std::string>> kernels;
    for (const auto &[k, v] : by_kernel) kernels.push_back({v.first, k});
    std::sort(kernels.rbegin(), kernels.rend());
    for (const auto &[sec, k] : kernels)
      std::printf("  %-14s %8.2f ms/step  %5.1f%%\n", k.c_str(), sec / steps * 1e3,
                  100 * sec / total);
    std::vector<size_t> order(prof.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return prof[x].seconds > prof[y].seconds; });
    std::printf("  top instructions:\n");
    for (size_t r = 0; r < std::min<size_t>(10, order.size()); ++r) {
      const auto &e = prof[order[r]];
      std::printf("    #%-4zu %-14s %8.2f ms/step  %s\n", order[r], e.kernel.c_str(),
                  e.seconds / steps * 1e3, e.loc.c_str());
    }
  }

  if (!absl::GetFlag(FLAGS_outputs).empty())
    if (auto w = weft::io::WriteNpz(absl::GetFlag(FLAGS_outputs), outputs); !w.ok()) return Fail(w);
  if (!absl::GetFlag(FLAGS_save).empty())
    if (auto w = p.SaveParameters(absl::GetFlag(FLAGS_save)); !w.ok()) return Fail(w);
  if (!absl::GetFlag(FLAGS_report).empty()) {
    nlohmann::json report = {
        {"model", model},
        {"backend", absl::GetFlag(FLAGS_backend)},
        {"load_s", load_s},
        {"step_s", step_s},
        {"best_step_s", best},
        {"peak_bytes", p.peak_bytes()},
        {"arena_bytes", p.arena_bytes()},
        {"parameter_bytes", p.parameter_bytes()},
    };
    if (absl::GetFlag(FLAGS_profile)) report["profile"] = profile_json;
    if (!p.loss_output().empty()) report["loss"] = outputs[p.loss_output()].data_as<float>()[0];
    std::ofstream f(absl::GetFlag(FLAGS_report));
    if (!f) return Fail(absl::NotFoundError("cannot write " + absl::GetFlag(FLAGS_report)));
    f << report.dump(2) << "\n";
  }
  return 0;
}

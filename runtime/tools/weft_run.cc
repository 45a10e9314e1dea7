// weft-run: loads a compiled model and runs it: one inference step, or, for
// an artifact compiled with `weftc --train`, a training loop.
//
//   weft-run model.weft                                   synthetic inputs, seeded init
//   weft-run model.weft --weights=w.safetensors --inputs=batch.npz --outputs=out.npz
//   weft-run train.weft --steps=300 --data=synthetic --save=final.safetensors --report=r.json
//   weft-run train.weft --steps=100 --resume=final.safetensors   continues bit-exactly
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/executor/synthetic.h"
#include "runtime/io/npy.h"
#include "runtime/cuda/backend.h"
#include "weft/runtime.h"

ABSL_FLAG(std::string, backend, "cpu", "cpu or cuda");
ABSL_FLAG(std::string, communicator, "auto",
          "how ranks talk: auto, inprocess or mpi (cpu); auto, nccl or cuda-inprocess (cuda: "
          "cuda-inprocess runs every rank as a virtual device on GPU 0)");
ABSL_FLAG(std::string, weights, "", "Parameters from a safetensors file (default: init from --seed)");
ABSL_FLAG(std::string, inputs, "", "One batch from a .npz file, used for every step");
ABSL_FLAG(std::string, data, "synthetic",
          "Training batches: a .npz whose arrays have a leading batch dimension (step i uses "
          "batch i mod N), or 'synthetic'");
ABSL_FLAG(std::string, outputs, "", "Write the last step's outputs to this .npz file");
ABSL_FLAG(std::string, save, "", "Write the parameters (and optimizer state) to this safetensors file");
ABSL_FLAG(std::string, resume, "", "Continue training from a checkpoint written by --save");
ABSL_FLAG(std::string, report, "", "Write every step's loss and time, throughput and memory as JSON");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the parameter init and the synthetic data");
ABSL_FLAG(int, steps, 1, "Steps to run");
ABSL_FLAG(int, threads, 0, "CPU threads (0: all cores)");
ABSL_FLAG(double, timeout, 600,
          "seconds a rank may wait for the others in a collective before every rank stops with an "
          "error (ranks in one process, or processes under mpirun)");
ABSL_FLAG(bool, profile, false, "Time every instruction; print the time per kernel and the top 10");
ABSL_FLAG(std::string, trace, "",
          "Write a Chrome/Perfetto trace of the steps to this JSON file: per rank, every kernel, "
          "collective, copy and message on its track (open it in ui.perfetto.dev)");

namespace {

// Under mpirun every process would print the same error; rank 0 speaks.
bool QuietRank() {
  const char *rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) rank = std::getenv("PMI_RANK");
  return rank != nullptr && std::atoi(rank) != 0;
}

int Fail(const absl::Status &s) {
  if (!QuietRank()) std::cerr << "weft-run: error: " << s.message() << "\n";
  return 1;
}

// An error once training runs: under mpirun the other processes would wait
// for this one in their next collective (or in MPI_Finalize), and if this is
// not rank 0 nobody would say why; so it speaks for itself and ends the job.
int FailJob(weft::Program &p, const absl::Status &s) {
  p.AbortJob(absl::StrCat("weft-run: rank ", p.process_rank(), ": ", s.message()));
  return Fail(s);  // one process: AbortJob did nothing
}

// A file we will write at the end must be writable now, not after hours of
// training: its folder must exist and accept files, and it must not be a folder.
absl::Status CheckWritable(const std::string &flag, const std::string &path) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": is a folder, not a file"));
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (access(dir.c_str(), W_OK) != 0)
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": cannot write into '", dir,
                                                   "': ", std::strerror(errno)));
  return absl::OkStatus();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Where each step's inputs come from.
class DataSource {
 public:
  static absl::StatusOr<DataSource> Open(const weft::Program &p, const std::string &inputs,
                                         const std::string &data, uint64_t seed) {
    DataSource d;
    d.infos_ = p.inputs();
    d.seed_ = seed;
    if (!inputs.empty()) {
      auto read = weft::io::ReadNpz(inputs);
      if (!read.ok()) return read.status();
      d.fixed_ = *read;
      d.kind_ = "file " + inputs;
      return d;
    }
    if (data.empty() || data == "synthetic") {
      d.kind_ = "synthetic (" + weft::SyntheticKind(d.infos_) + ")";
      return d;
    }
    auto read = weft::io::ReadNpz(data);
    if (!read.ok()) return read.status();
    for (const weft::TensorInfo &in : d.infos_) {
      auto it = read->find(in.name);
      if (it == read->end())
        return absl::InvalidArgumentError(absl::StrCat(data, ": no array '", in.name, "'"));
      std::vector<int64_t> want = in.shape;
      const std::vector<int64_t> &got = it->second.shape();
      if (got.size() != want.size() + 1 || !std::equal(want.begin(), want.end(), got.begin() + 1) ||
          it->second.dtype() != in.dtype || got[0] < 1)
        return absl::InvalidArgumentError(
            absl::StrCat(data, ": '", in.name, "' must be ", weft::DTypeName(in.dtype),
                         "[batches, ", weft::ShapeString(want).substr(1), " (one batch per step), got ",
                         it->second.DebugString()));
      if (d.batches_ && got[0] != d.batches_)
        return absl::InvalidArgumentError(absl::StrCat(data, ": every array needs the same number of batches"));
      d.batches_ = got[0];
    }
    d.data_ = *read;
    d.kind_ = absl::StrCat("file ", data, " (", d.batches_, " batches)");
    return d;
  }

  std::map<std::string, weft::Tensor> Batch(int64_t step) const {
    if (!fixed_.empty()) return fixed_;
    if (data_.empty()) return weft::SyntheticBatch(infos_, seed_, step);
    std::map<std::string, weft::Tensor> out;
    for (const weft::TensorInfo &in : infos_) {
      const weft::Tensor &all = data_.at(in.name);
      weft::Tensor t(in.dtype, in.shape);
      const size_t bytes = t.byte_size();
      std::memcpy(t.data(), static_cast<const char *>(all.data()) + (step % batches_) * bytes, bytes);
      out[in.name] = t;
    }
    return out;
  }
  const std::string &kind() const { return kind_; }

 private:
  std::vector<weft::TensorInfo> infos_;
  uint64_t seed_ = 0;
  std::map<std::string, weft::Tensor> fixed_, data_;
  int64_t batches_ = 0;
  std::string kind_;
};

// Tokens per step for language models (the elements of the first integer
// input of rank 2), else samples (the batch).
std::pair<double, const char *> Throughput(const weft::Program &p) {
  for (const weft::TensorInfo &in : p.inputs())
    if ((in.dtype == weft::DType::kI32 || in.dtype == weft::DType::kI64) && in.shape.size() == 2)
      return {static_cast<double>(in.shape[0] * in.shape[1]), "tokens/s"};
  return {p.inputs().empty() || p.inputs()[0].shape.empty() ? 1.0
                                                            : static_cast<double>(p.inputs()[0].shape[0]),
          "samples/s"};
}

void Progress(int done, int total, float loss, double rate, const char *unit, double eta, bool tty) {
  const int width = 24, filled = total ? width * done / total : width;
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  std::fprintf(stderr, "%sstep %d/%d [%s] loss %.4f | %.0f %s | ETA %.0fs%s", tty ? "\r" : "",
               done, total, bar.c_str(), loss, rate, unit, eta, tty ? "" : "\n");
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("Runs a compiled Weft model: weft-run model.weft [flags]");
  // --help lists this tool's flags (absl matches flags to the program by
  // file name, and weft_run.cc is not weft-run).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return file.find("weft_run") != absl::string_view::npos;
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<char *> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: weft-run model.weft [--weights=..] [--inputs=..|--data=..] [--steps=N] "
                 "[--save=..] [--resume=..] [--report=..] (--help for all flags)\n";
    return 2;
  }
  const std::string model = args[1];
  if (absl::GetFlag(FLAGS_steps) < 1)
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--steps must be at least 1, got ", absl::GetFlag(FLAGS_steps))));
  if (absl::GetFlag(FLAGS_threads) < 0)
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--threads must be 0 (all cores) or more, got ", absl::GetFlag(FLAGS_threads))));
  if (!absl::GetFlag(FLAGS_weights).empty() && !absl::GetFlag(FLAGS_resume).empty())
    return Fail(absl::InvalidArgumentError(
        "give --weights (fresh optimizer state) or --resume (continue a run), not both"));
  for (const auto &[flag, path] : {std::pair<std::string, std::string>{"save", absl::GetFlag(FLAGS_save)},
                                   {"outputs", absl::GetFlag(FLAGS_outputs)},
                                   {"report", absl::GetFlag(FLAGS_report)},
                                   {"trace", absl::GetFlag(FLAGS_trace)}})
    if (absl::Status w = CheckWritable(flag, path); !w.ok()) return Fail(w);
  auto start = std::chrono::steady_clock::now();
  if (absl::GetFlag(FLAGS_timeout) <= 0)
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--timeout must be more than 0 seconds, got ", absl::GetFlag(FLAGS_timeout))));
  weft::RuntimeOptions options;
  options.backend = absl::GetFlag(FLAGS_backend);
  options.communicator = absl::GetFlag(FLAGS_communicator);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.collective_timeout_s = absl::GetFlag(FLAGS_timeout);
  auto runtime = weft::Runtime::Create(options);
  if (!runtime.ok()) return Fail(runtime.status());
  auto program = (*runtime)->Load(model);
  if (!program.ok()) return Fail(program.status());
  weft::Program &p = **program;
  const double load_s = Seconds(start);

  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  absl::Status s = absl::OkStatus();
  if (!absl::GetFlag(FLAGS_resume).empty()) {
    if (!p.is_training())
      return Fail(absl::InvalidArgumentError("--resume needs a training artifact (weftc --train)"));
    s = p.LoadParameters(absl::GetFlag(FLAGS_resume), /*with_state=*/true);
  } else {
    s = p.InitParameters(seed);
    if (s.ok() && !absl::GetFlag(FLAGS_weights).empty()) s = p.LoadParameters(absl::GetFlag(FLAGS_weights));
  }
  if (!s.ok()) return Fail(s);

  const bool data_given = absl::GetFlag(FLAGS_data) != "synthetic";
  if (data_given && !p.is_training())
    return Fail(absl::InvalidArgumentError(
        "--data feeds training artifacts (weftc --train); give an inference artifact --inputs"));
  if (data_given && !absl::GetFlag(FLAGS_inputs).empty())
    return Fail(absl::InvalidArgumentError("give --data or --inputs, not both"));
  auto source = DataSource::Open(p, absl::GetFlag(FLAGS_inputs),
                                 p.is_training() ? absl::GetFlag(FLAGS_data) : "", seed);
  if (!source.ok()) return Fail(source.status());

  const int steps = absl::GetFlag(FLAGS_steps);
  const int64_t first = p.step();
  const auto [per_step, unit] = Throughput(p);
  // Under mpirun every process runs one rank; rank 0 speaks for all of them
  // (its loss is the global one) and writes the files.
  const bool root = p.process_rank() == 0;
  const bool tty = isatty(fileno(stderr));
  const bool show = root && (steps > 1 || p.is_training());
  if (p.is_training() && root)
    std::fprintf(stderr, "training %s from step %lld for %d steps on %s data%s\n", model.c_str(),
                 static_cast<long long>(first), steps, source->kind().c_str(),
                 p.num_ranks() > 1 ? absl::StrCat(", ", p.num_ranks(), " ranks").c_str() : "");
  if (root && absl::GetFlag(FLAGS_backend) == "cuda")
    std::fprintf(stderr, "on the cuda backend: %s\n", weft::cuda::DescribeGpus().c_str());
  p.set_profiling(absl::GetFlag(FLAGS_profile));
  const std::string trace = absl::GetFlag(FLAGS_trace);
  if (!trace.empty())
    if (absl::Status t = p.set_tracing(true); !t.ok()) return FailJob(p, t);
  std::vector<double> step_s, losses;
  std::map<std::string, weft::Tensor> outputs;
  double total_s = 0;
  for (int i = 0; i < steps; ++i) {
    auto batch = source->Batch(first + i);
    auto t0 = std::chrono::steady_clock::now();
    auto out = p.Run(batch);
    if (!out.ok()) return FailJob(p, out.status());
    outputs = std::move(*out);
    step_s.push_back(Seconds(t0));
    total_s += step_s.back();
    float loss = p.loss_output().empty() ? 0.0f : outputs[p.loss_output()].data_as<float>()[0];
    losses.push_back(loss);
    if (p.is_training() && !std::isfinite(loss))
      return FailJob(p, absl::FailedPreconditionError(absl::StrCat(
          "the loss became ", loss, " at step ", first + i,
          "; training stopped (lower --lr, or add --clip-norm when compiling)")));
    if (show && (tty || (i + 1) % std::max(1, steps / 10) == 0 || i + 1 == steps))
      Progress(i + 1, steps, loss, per_step * (i + 1) / total_s, unit,
               total_s / (i + 1) * (steps - i - 1), tty);
  }
  if (show && tty) std::fprintf(stderr, "\n");
  // Every rank takes part in saving (ZeRO-1 state is gathered); rank 0 writes.
  if (!absl::GetFlag(FLAGS_save).empty())
    if (auto w = p.SaveParameters(absl::GetFlag(FLAGS_save)); !w.ok()) return FailJob(p, w);
  // Every process hands its ranks' events to process 0, which writes the file.
  if (!trace.empty())
    if (auto w = p.WriteTrace(trace); !w.ok()) return FailJob(p, w);
  if (!root) return 0;

  for (const weft::TensorInfo &o : p.outputs()) {
    const weft::Tensor &t = outputs[o.name];
    if (t.num_elements() == 1 && t.dtype() == weft::DType::kF32)
      std::printf("%s = %.6g\n", o.name.c_str(), t.data_as<float>()[0]);
    else
      std::printf("%s: %s\n", o.name.c_str(), t.DebugString().c_str());
  }
  double best = *std::min_element(step_s.begin(), step_s.end());
  std::printf("step time: %.3f ms (best of %d), %.0f %s; peak memory %.2f MB%s (arena %.2f MB)\n",
              best * 1e3, steps, per_step / best, unit, p.peak_bytes() / 1e6,
              p.num_ranks() > 1 ? " per device" : "", p.arena_bytes() / 1e6);
  if (p.device_peak_bytes() > 0)
    std::printf("device memory: %.2f MB at most on the busiest GPU (measured; the plan above "
                "leaves out workspaces and scratch)\n",
                p.device_peak_bytes() / 1e6);
  if (p.is_training() && steps > 1)
    std::printf("loss: %.6g at step %lld -> %.6g at step %lld\n", losses.front(),
                static_cast<long long>(first), losses.back(), static_cast<long long>(first + steps - 1));

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
    std::printf("\nprofile over %d steps (%.1f ms per step in instructions)%s:\n", steps,
                total / steps * 1e3,
                p.num_ranks() > 1 ? absl::StrCat(", rank ", p.process_rank(), "'s of ",
                                                 p.num_ranks(), " (pipelines: its pp stage only)")
                                        .c_str()
                                  : "");
    std::vector<std::pair<double, std::string>> kernels;
    for (const auto &[k, v] : by_kernel) kernels.push_back({v.first, k});
    std::sort(kernels.rbegin(), kernels.rend());
    for (const auto &[sec, k] : kernels)
      std::printf("  %-18s %8.2f ms/step  %5.1f%%\n", k.c_str(), sec / steps * 1e3, 100 * sec / total);
    std::vector<size_t> order(prof.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return prof[x].seconds > prof[y].seconds; });
    std::printf("  top instructions:\n");
    for (size_t r = 0; r < std::min<size_t>(10, order.size()); ++r) {
      const auto &e = prof[order[r]];
      std::printf("    #%-4zu %-18s %8.2f ms/step  %s\n", order[r], e.kernel.c_str(),
                  e.seconds / steps * 1e3, e.loc.c_str());
    }
  }

  if (!trace.empty())
    std::printf("trace of %d step%s on %d rank%s written to %s: open it in https://ui.perfetto.dev "
                "(or chrome://tracing)\n",
                steps, steps == 1 ? "" : "s", p.num_ranks(), p.num_ranks() == 1 ? "" : "s",
                trace.c_str());
  if (!absl::GetFlag(FLAGS_outputs).empty())
    if (auto w = weft::io::WriteNpz(absl::GetFlag(FLAGS_outputs), outputs); !w.ok()) return Fail(w);
  if (!absl::GetFlag(FLAGS_report).empty()) {
    nlohmann::json report = {
        {"model", model},
        {"backend", absl::GetFlag(FLAGS_backend)},
        {"training", p.is_training()},
        {"data", source->kind()},
        {"first_step", first},
        {"load_s", load_s},
        {"step_s", step_s},
        {"best_step_s", best},
        {"throughput", per_step * steps / total_s},
        {"throughput_unit", unit},
        {"peak_bytes", p.peak_bytes()},
        {"arena_bytes", p.arena_bytes()},
        {"parameter_bytes", p.parameter_bytes()},
        {"device_peak_bytes", p.device_peak_bytes()},
        {"ranks", p.num_ranks()},
    };
    if (!p.loss_output().empty()) {
      report["losses"] = losses;
      report["loss"] = losses.back();
    }
    if (absl::GetFlag(FLAGS_profile)) report["profile"] = profile_json;
    if (!trace.empty()) report["trace"] = trace;
    std::ofstream f(absl::GetFlag(FLAGS_report));
    if (!f)
      return Fail(absl::NotFoundError(absl::StrCat("cannot write '", absl::GetFlag(FLAGS_report),
                                                   "': ", std::strerror(errno))));
    f << report.dump(2) << "\n";
  }
  return 0;
}

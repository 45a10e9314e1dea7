// The public API of the Weft runtime. It has no LLVM or MLIR in it: its only
// input from the compiler is a verified artifact (model.weft).
//
//   auto runtime = weft::Runtime::Create({.backend = "cpu"}).value();
//   auto program = runtime->Load("model.weft").value();
//   program->InitParameters(/*seed=*/0);                // or LoadParameters(...)
//   auto outputs = program->Run({{"tokens", tokens}, {"labels", labels}}).value();
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/tensor.h"

namespace weft {

namespace artifact {
struct Artifact;
}

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t int_bound = 0;  // inputs: valid integer values are [0, int_bound), 0 if unknown
};

/// Time spent in one instruction across the runs since profiling began.
struct InstructionProfile {
  std::string kernel;     // "matmul", "fused", ...
  std::string source_op;  // "weft.matmul"
  std::string loc;        // "gpt_tiny.mlir:40:11"
  int64_t calls = 0;
  double seconds = 0;
};

struct RuntimeOptions {
  std::string backend = "cpu";  // "cpu" or "cuda" (runtime/cuda: one GPU per rank, or
                                // virtual devices on one)
  int threads = 0;              // 0: all cores
  // How the ranks of a program talk: "inprocess" (all ranks are threads of
  // this process), "mpi" (this process is one rank; mpirun/srun starts the
  // others), or "auto": mpi when launched by mpirun with several processes.
  // With the cuda backend: "auto", "nccl" (a GPU per rank in this process,
  // or one per process under mpirun, NCCL's id bootstrapped over MPI) or
  // "cuda-inprocess" (every rank a virtual device on GPU 0, with its own
  // streams and arena); auto picks nccl when there are GPUs enough.
  std::string communicator = "auto";
  // In process: a rank that waits longer than this in a collective (another
  // rank hangs or never comes) fails with DeadlineExceeded, and so do the
  // others, instead of hanging. A rank that fails releases the others at once.
  double collective_timeout_s = 600;
};

class Program;

/// Devices and communicators. One per process is enough.
class Runtime {
 public:
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(const RuntimeOptions &options);

  /// Loads and verifies an artifact; errors name the file and the problem.
  absl::StatusOr<std::unique_ptr<Program>> Load(const std::string &path);
  /// The same from the file's bytes; `name` appears in messages.
  absl::StatusOr<std::unique_ptr<Program>> LoadFromBytes(std::string bytes,
                                                         const std::string &name);

  const RuntimeOptions &options() const { return options_; }

 private:
  explicit Runtime(RuntimeOptions options) : options_(std::move(options)) {}
  RuntimeOptions options_;  // communicator resolved: inprocess or mpi (the host's)
  std::string device_communicator_;  // the cuda backend's choice
};

/// A loaded artifact with its parameters, ready to run.
class Program {
 public:
  ~Program();

  const std::vector<TensorInfo> &inputs() const { return inputs_; }
  const std::vector<TensorInfo> &parameters() const { return params_; }
  const std::vector<TensorInfo> &outputs() const { return outputs_; }
  /// Training artifacts: the optimizer's state (moments, the step counter
  /// "optimizer.step"), updated in place with the parameters by every Run.
  const std::vector<TensorInfo> &states() const { return states_; }
  bool is_training() const { return !states_.empty(); }
  /// The number of optimizer updates done so far (0 for inference).
  int64_t step() const;
  /// Ranks of the mesh, and the first one this process runs (0 unless
  /// under MPI, where each process runs one). Rank 0 reports and saves.
  int num_ranks() const;
  int process_rank() const;
  /// The output marked as the loss, or "".
  const std::string &loss_output() const { return loss_; }

  /// Initialises every parameter from its init spec. Each value depends only
  /// on the seed, the parameter's name and the element's global index, so
  /// every mesh and every run with the same seed starts from the same numbers.
  absl::Status InitParameters(uint64_t seed);
  /// Loads parameters by name from a safetensors file: every parameter must
  /// be there with its shape, and no other tensor may be, except optimizer
  /// state ("optimizer.*"), which is ignored: a training checkpoint feeds an
  /// inference artifact or a fresh run. With `with_state` (resuming a
  /// training run) the optimizer state is loaded too, and all of it must be
  /// there. Problems are listed in one error, summarised when there are many.
  absl::Status LoadParameters(const std::string &path, bool with_state = false);
  /// Writes every parameter and optimizer state tensor whole, each from the
  /// ranks that hold it (a pipeline stage holds its own only). Under MPI
  /// every process calls it and process 0 writes the file.
  absl::Status SaveParameters(const std::string &path) const;
  /// Writes `value` into every rank that holds the parameter.
  absl::Status SetParameter(const std::string &name, const Tensor &value);
  /// A parameter or state tensor whole. Under MPI, only one that this
  /// process holds whole (others: SaveParameters).
  absl::StatusOr<Tensor> GetParameter(const std::string &name) const;

  /// Runs one step. Every input must be given with its dtype and shape.
  absl::StatusOr<std::map<std::string, Tensor>> Run(const std::map<std::string, Tensor> &inputs);

  /// Under MPI: ends every process of the job now, saying why, for an error
  /// this process found outside Run (a bad loss, a failed write) that the
  /// others, waiting in the next collective, cannot know of. Otherwise it
  /// does nothing and the caller reports the error as usual.
  void AbortJob(const std::string &why);

  /// Times every instruction of the following runs (a clock read around
  /// each; off by default).
  void set_profiling(bool on);
  /// Per instruction, in program order.
  std::vector<InstructionProfile> profile() const;

  /// Records a timeline of the following runs for WriteTrace: on every rank,
  /// each instruction (kernels on the "compute" track, collectives and
  /// pipeline sends/receives on "comm", copies on "copy"; the CUDA backend's
  /// streams on their own) and each Run as a step on the "steps" track.
  /// Off by default; off, it costs one branch per instruction. Turning it on
  /// drops what was recorded before and restarts the clock at 0 and the
  /// step count at 0; under MPI every process must then call it (the
  /// processes' clocks are aligned by exchanging timestamps with process 0).
  /// Turning it off stops recording and keeps what was recorded.
  absl::Status set_tracing(bool on);
  /// Writes what was recorded since set_tracing(true) as a Chrome trace
  /// (JSON; open it in ui.perfetto.dev or chrome://tracing): a process per
  /// rank, named "rank r (pp p, dp d, tp t)", a thread per track. Under MPI
  /// every process must call it; process 0 gathers every rank's events and
  /// writes the one file.
  absl::Status WriteTrace(const std::string &path) const;

  /// Per device (the one that needs the most, where pipeline stages
  /// differ): bytes of the activation arena (the compiler's memory plan), of
  /// the parameters, and the sum of both with the optimizer state and the
  /// inputs: the peak on the device.
  int64_t arena_bytes() const;
  int64_t parameter_bytes() const;
  int64_t peak_bytes() const;
  /// On the cuda backend, after a step: the device memory the program used
  /// at most on its busiest GPU, measured (allocations up front, plus the
  /// high-water mark of the steps' stream-ordered scratch); 0 on cpu.
  int64_t device_peak_bytes() const;

 private:
  friend class Runtime;
  struct Impl;
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<TensorInfo> inputs_, params_, outputs_, states_;
  std::string loss_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_H

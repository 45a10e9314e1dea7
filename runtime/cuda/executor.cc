// The cuda backend: each rank's instruction list on a GPU (DeviceBackend,
// runtime/executor/device_backend.h). Per rank: a Device (the compiler's
// arena in one allocation, a compute and a communication stream), a
// cuBLASLt GEMM, device copies of the parameters, state and constants it
// holds, staging buffers for its inputs and outputs, and a communicator per
// mesh axis on device memory:
//  - under mpirun/srun: NCCL, its unique id bootstrapped over MPI, one GPU
//    per process (the node's local rank picks it);
//  - in one process with a GPU per rank: NCCL groups (ncclCommInitAll);
//  - in one process with fewer GPUs than ranks (the lent machines have one):
//    cuda-inprocess, every rank a virtual device on GPU 0 with its own
//    streams and arena.
// Fused programs run the kernels weftc --target=cuda generated (the
// artifact's module, loaded with cudaLibraryLoadData: no driver library to
// link); the other opcodes run runtime/cuda/kernels.h and gemm.h.
//
// A rank without collectives (one device) replays its step as a CUDA graph
// after a first eager step (set WEFT_CUDA_GRAPHS=0 to turn it off); ranks
// with collectives run eagerly, since the communicators wait on the host.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/holdings.h"
#include "runtime/collectives/cuda_inprocess.h"
#include "runtime/collectives/nccl.h"
#include "runtime/cuda/attention_gemm.h"
#include "runtime/cuda/backend.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/devices.h"
#include "runtime/cuda/gemm.h"
#include "runtime/cuda/kernels.h"
#include "runtime/cuda/softmax.h"
#include "runtime/executor/device_backend.h"
#include "runtime/executor/program_impl.h"

namespace weft::cuda {
namespace {

using absl::StrCat;

// cudaMalloc'd bytes, freed with the owner.
struct Buffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  Buffer() = default;
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  Buffer(Buffer &&o) noexcept : ptr(o.ptr), bytes(o.bytes) { o.ptr = nullptr; }
  ~Buffer() {
    if (ptr) cudaFree(ptr);
  }
  absl::Status Allocate(size_t n) {
    bytes = n;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMalloc(&ptr, std::max<size_t>(n, 16)));
    return absl::OkStatus();
  }
};

int64_t Elements(const flatbuffers::Vector<int64_t> *shape) {
  int64_t n = 1;
  if (shape)
    for (int64_t d : *shape) n *= d;
  return n;
}

// The artifact's generated kernels, loaded once for the process (a CUDA
// library is not bound to one GPU): SASS where it matches the GPU, else the
// PTX, which the driver compiles.
class KernelModule {
 public:
  static absl::StatusOr<std::unique_ptr<KernelModule>> Load(const fb::Artifact &a) {
    const fb::KernelBinary *sass = nullptr, *ptx = nullptr;
    if (a.kernels())
      for (const fb::KernelBinary *k : *a.kernels()) {
        const std::string target = k->target() ? k->target()->str() : "";
        if (target.rfind("sm_", 0) == 0) sass = k;
        if (target.rfind("compute_", 0) == 0) ptx = k;
      }
    auto m = std::unique_ptr<KernelModule>(new KernelModule());
    if (!sass && !ptx) return m;  // no fused programs, or compiled for cpu (checked by the caller)
    // SASS runs only on its own architecture (a mismatch may surface only
    // at launch, with lazy loading): take it when GPU 0 is that one.
    cudaDeviceProp prop;
    WEFT_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, 0));
    const std::string arch = StrCat("sm_", prop.major, prop.minor);
    cudaError_t e = cudaErrorInvalidValue;
    if (sass && sass->target()->str() == arch)
      e = cudaLibraryLoadData(&m->library_, sass->data()->data(), nullptr, nullptr, 0, nullptr,
                              nullptr, 0);
    if (e != cudaSuccess && ptx) {
      cudaGetLastError();
      std::string text(reinterpret_cast<const char *>(ptx->data()->data()), ptx->data()->size());
      WEFT_CUDA_RETURN_IF_ERROR(
          cudaLibraryLoadData(&m->library_, text.c_str(), nullptr, nullptr, 0, nullptr, nullptr, 0));
    } else if (e != cudaSuccess) {
      return absl::FailedPreconditionError(StrCat(
          "the artifact's CUDA kernels are for ", sass->target()->str(), " and have no PTX; this GPU is ",
          arch, ": compile with weftc --target=cuda --cuda-arch=", arch));
    }
    return m;
  }
  ~KernelModule() {
    if (library_) cudaLibraryUnload(library_);
  }
  absl::StatusOr<cudaKernel_t> Get(const std::string &name) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!library_)
      return absl::FailedPreconditionError(
          "the artifact has no CUDA kernels: compile it with weftc --target=cuda");
    cudaKernel_t k = nullptr;
    WEFT_CUDA_RETURN_IF_ERROR(cudaLibraryGetKernel(&k, library_, name.c_str()));
    return k;
  }

 private:
  KernelModule() = default;
  std::mutex mu_;
  cudaLibrary_t library_ = nullptr;
};

// The environment's switches, read when a program loads (not per step).
struct Settings {
  // --precision=bf16's matmuls: by default both operands are rounded into
  // bf16 copies (exactly the CPU backend's numbers, then a bf16 GEMM);
  // WEFT_CUDA_BF16_GEMM=fast lets cuBLAS down-convert inside the GEMM.
  bool fast_bf16_gemm = false;
  // WEFT_CUDA_ATTENTION=gemm or kernel forces attention's path.
  std::string attention;
  bool graphs = true;  // WEFT_CUDA_GRAPHS=0 turns CUDA graphs off
  // WEFT_CUDA_EPILOGUES=kernel runs folded GEMM epilogues as a kernel after
  // the GEMM instead of in cuBLASLt's (to tell the two apart on a GPU).
  bool epilogue_kernels = false;
};

// A misspelt value is an error, not a silent default.
absl::StatusOr<Settings> ReadSettings() {
  Settings s;
  auto env = [](const char *name, std::initializer_list<const char *> allowed,
                std::string &out) -> absl::Status {
    const char *v = std::getenv(name);
    out = v ? v : "";
    if (out.empty()) return absl::OkStatus();
    for (const char *a : allowed)
      if (out == a) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(name, "=", out, ": expected ", absl::StrJoin(allowed, ", "), " or unset"));
  };
  std::string bf16_gemm, graphs, epilogues;
  if (absl::Status st = env("WEFT_CUDA_BF16_GEMM", {"fast", "exact"}, bf16_gemm); !st.ok()) return st;
  if (absl::Status st = env("WEFT_CUDA_ATTENTION", {"gemm", "kernel"}, s.attention); !st.ok()) return st;
  if (absl::Status st = env("WEFT_CUDA_GRAPHS", {"0", "1"}, graphs); !st.ok()) return st;
  if (absl::Status st = env("WEFT_CUDA_EPILOGUES", {"cublaslt", "kernel"}, epilogues); !st.ok())
    return st;
  s.fast_bf16_gemm = bf16_gemm == "fast";
  s.graphs = graphs != "0";
  s.epilogue_kernels = epilogues == "kernel";
  return s;
}

// One rank on its GPU.
struct GpuRank {
  std::unique_ptr<Device> device;
  std::unique_ptr<Gemm> gemm;
  std::vector<Buffer> params, states, constants;
  // Inputs and outputs by their index in the artifact (views of one share it).
  std::vector<Buffer> input_staging, output_staging;
  // Per value id: an artifact input or output's index, or -1.
  std::vector<int> input_of, output_of;
  // Outputs whose bytes the step leaves in the arena, a parameter or a
  // state (a view of one, or an update target also returned): copied back
  // into these host buffers, which Program::Run reads (rank.ptr).
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> device_outputs;
  bool writes_state = false;  // a step updates parameters or state
  bool graph_failed = false;  // capture failed once: eager from then on
  std::vector<bool> gemm_attention;  // per instruction: attention by GEMMs
  Settings settings;
  std::vector<void *> ptr;             // value id -> device bytes
  std::vector<cudaKernel_t> kernels;   // per instruction: its generated kernel (Fused)
  Buffer scratch;                      // packing for collectives, bf16 operands
  Buffer errors;                       // per instruction: an id or label out of range
  std::vector<std::unique_ptr<Communicator>> comms;  // per mesh axis, on device memory
  bool has_collectives = false;
  cudaGraphExec_t graph = nullptr;
  int eager_steps = 0;

  ~GpuRank() {
    if (graph) cudaGraphExecDestroy(graph);
  }
  Communicator *CommOf(int64_t axis) const {
    return axis >= 0 && axis < static_cast<int64_t>(comms.size()) ? comms[axis].get() : nullptr;
  }
  absl::Status Execute(const Rank &host, const fb::Instruction &in, size_t index);
  absl::Status Collective(const Rank &host, const fb::Instruction &in);
  absl::Status Steps(Rank &host, bool profiling);
};

// The events that time a traced step: one before every instruction and one
// after the last, on the compute stream (a collective's span is the time
// the compute stream waited for it).
struct StepEvents {
  std::vector<cudaEvent_t> marks;
  ~StepEvents() {
    for (cudaEvent_t e : marks) cudaEventDestroy(e);
  }
};

absl::Status GpuRank::Steps(Rank &host, bool profiling) {
  const auto &instructions = *host.prog->instructions();
  const cudaStream_t s = device->compute_stream();
  const bool tracing = host.trace.on();
  StepEvents timing;
  int64_t t0 = 0;
  if (tracing) {
    // Start from an idle stream, so that the first event is "now" on the
    // trace's clock; the others are GPU time after it.
    WEFT_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));
    timing.marks.resize(instructions.size() + 1);
    for (cudaEvent_t &e : timing.marks) WEFT_CUDA_RETURN_IF_ERROR(cudaEventCreate(&e));
    t0 = host.trace.Now();
  }
  WEFT_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(errors.ptr, 0, errors.bytes, s));
  for (size_t i = 0; i < instructions.size(); ++i) {
    const fb::Instruction &in = *instructions[i];
    const auto start = std::chrono::steady_clock::now();
    if (tracing) WEFT_CUDA_RETURN_IF_ERROR(cudaEventRecord(timing.marks[i], s));
    absl::Status st = Execute(host, in, i);
    if (st.ok() && profiling) st = WEFT_CUDA_STATUS(cudaStreamSynchronize(s));
    if (profiling) {
      host.calls[i] += 1;
      host.seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!st.ok())
      return absl::Status(st.code(), StrCat(in.loc() ? in.loc()->str() : "?", ": ",
                                            in.name() ? in.name()->str() : "?", ": ", st.message()));
  }
  if (tracing) {
    WEFT_CUDA_RETURN_IF_ERROR(cudaEventRecord(timing.marks.back(), s));
    WEFT_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(timing.marks.back()));
    auto at = [&](size_t i) -> absl::StatusOr<int64_t> {
      float ms = 0;
      WEFT_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, timing.marks[0], timing.marks[i]));
      return t0 + static_cast<int64_t>(ms * 1e6);
    };
    for (size_t i = 0; i < instructions.size(); ++i) {
      auto begin = at(i), end = at(i + 1);
      if (!begin.ok()) return begin.status();
      if (!end.ok()) return end.status();
      const auto [cpu_track, category] = trace::CpuPlacement(instructions[i]->op());
      const trace::Track track = cpu_track == trace::Track::kComm ? trace::Track::kCommStream
                                                                  : trace::Track::kComputeStream;
      host.trace.Record(host.index, static_cast<int32_t>(i), track, category, *begin, *end);
    }
  }
  return absl::OkStatus();
}

absl::Status GpuRank::Collective(const Rank &host, const fb::Instruction &in) {
  auto op = [&](unsigned k) { return ptr[in.operands()->Get(k)]; };
  auto res = [&](unsigned k) { return ptr[in.results()->Get(k)]; };
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  const cudaStream_t s = device->compute_stream();
  const DType t = host.TypeOf(in.op() == fb::Opcode::Recv ? in.results()->Get(0)
                                                          : in.operands()->Get(0));
  const size_t bytes = DTypeSize(t);
  // The communicator works on the communication stream and waits for its
  // operation; it must see the compute that produced its input.
  auto run = [&](const std::function<absl::Status()> &call) -> absl::Status {
    if (absl::Status st = device->CommWaitsForCompute(); !st.ok()) return st;
    if (absl::Status st = call(); !st.ok()) return st;
    return device->ComputeWaitsForComm();
  };
  auto copy = [&](void *dst, const void *src, size_t n) {
    return dst == src ? absl::OkStatus()
                      : WEFT_CUDA_STATUS(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, s));
  };
  switch (in.op()) {
    case fb::Opcode::AllReduce: {
      Communicator *comm = CommOf(I(2));
      if (!comm) return copy(res(0), op(0), I(1) * bytes);
      return run([&] { return comm->AllReduce(op(0), res(0), I(1), t, static_cast<ReduceKind>(I(0))); });
    }
    case fb::Opcode::ReduceScatter: {
      const int64_t n = I(1), outer = in.ints()->size() == 4 ? I(2) : 1;
      Communicator *comm = CommOf(in.ints()->Get(in.ints()->size() - 1));
      const int parts = comm ? comm->size() : 1;
      const void *send = op(0);
      if (outer > 1 && parts > 1) {
        if (absl::Status st = PackSlices(op(0), scratch.ptr, outer, parts, n / outer * bytes, s); !st.ok())
          return st;
        send = scratch.ptr;
      }
      if (!comm) return copy(res(0), send, n * bytes);
      return run([&] { return comm->ReduceScatter(send, res(0), n, t, static_cast<ReduceKind>(I(0))); });
    }
    case fb::Opcode::AllSlice: {
      const bool rows = in.ints()->size() == 3;
      const int64_t outer = rows ? I(1) : 1, axis = I(rows ? 2 : 1);
      const int parts = host.SizeOf(axis);
      const size_t width = I(0) / outer * bytes;
      const char *src = static_cast<const char *>(op(0)) + host.CoordOf(axis) * width;
      return WEFT_CUDA_STATUS(cudaMemcpy2DAsync(res(0), width, src, parts * width, width, outer,
                                                cudaMemcpyDeviceToDevice, s));
    }
    case fb::Opcode::AllGather: {
      const bool rows = in.ints()->size() == 3;
      const int64_t n = I(0), outer = rows ? I(1) : 1;
      Communicator *comm = CommOf(I(rows ? 2 : 1));
      if (!comm) return copy(res(0), op(0), n * bytes);
      if (outer == 1) return run([&] { return comm->AllGather(op(0), res(0), n, t); });
      if (absl::Status st = run([&] { return comm->AllGather(op(0), scratch.ptr, n, t); }); !st.ok())
        return st;
      return UnpackSlices(scratch.ptr, res(0), outer, comm->size(), n / outer * bytes, s);
    }
    case fb::Opcode::AllToAll: {
      const int64_t n = I(0);
      Communicator *comm = CommOf(I(3));
      if (!comm) return copy(res(0), op(0), n * bytes);
      const int parts = comm->size();
      char *send = static_cast<char *>(scratch.ptr), *recv = send + parts * n * bytes;
      if (absl::Status st = PackSlices(op(0), send, I(1), parts, n / I(1) * bytes, s); !st.ok()) return st;
      if (absl::Status st = run([&] { return comm->AllToAll(send, recv, n, t); }); !st.ok()) return st;
      return UnpackSlices(recv, res(0), I(2), parts, n / I(2) * bytes, s);
    }
    case fb::Opcode::Send:
    case fb::Opcode::Recv: {
      const bool send = in.op() == fb::Opcode::Send;
      Communicator *comm = CommOf(I(2));
      if (!comm)
        return absl::InvalidArgumentError(
            StrCat(send ? "a send" : "a receive", " along mesh axis ", I(2), ", which has one rank"));
      return run([&] {
        return send ? comm->Send(op(0), I(0), t, static_cast<int>(I(1)))
                    : comm->Recv(res(0), I(0), t, static_cast<int>(I(1)));
      });
    }
    default: return absl::InternalError("not a collective");
  }
}

// Elements of q, k, v (and dout) of an attention instruction.
int64_t AttentionOperandElements(const fb::Instruction &in) {
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  const int64_t b = I(0), h = I(1), sq = I(2), sk = I(3), dh = I(4), dv = I(5);
  return b * h * (sq * dh + sk * dh + sk * dv + (in.op() == fb::Opcode::AttentionGrad ? sq * dv : 0));
}

// Attention runs as GEMMs (attention_gemm.h) when its scores fit in the
// rank's budget (at most 4 GiB, and a quarter of its share of the GPU's free
// memory), else as the tiled flash kernel (kernels/attention.cuh). Decided once per
// instruction when the program loads (GpuRank::gemm_attention).
bool AttentionByGemms(const Settings &settings, const AttentionShape &shape, bool grad,
                      int64_t budget) {
  if (settings.attention == "kernel") return false;
  if (settings.attention == "gemm") return true;
  return (grad ? 2 : 1) * ScoresBytes(shape) <= budget;
}

AttentionShape ShapeOfAttention(const fb::Instruction &in) {
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  return {I(0), I(1), I(2), I(3), I(4), I(5), I(6) != 0, in.floats()->Get(0)};
}

// Bytes of --precision=bf16's rounded attention operands (f32 copies and a
// bf16 staging area), rounded up to keep what follows aligned.
int64_t AttentionRoundedBytes(const fb::Instruction &in) {
  const bool bf16 = in.ints()->size() > 7 && in.ints()->Get(7) != 0;
  // f32 copies (4 bytes an element), then bf16 ones (2), each of the four
  // padded to 128 elements, the first aligned to 256 bytes.
  return bf16 ? (6 * AttentionOperandElements(in) + 5 * 256 + 255) / 256 * 256 : 0;
}

absl::Status GpuRank::Execute(const Rank &host, const fb::Instruction &in, size_t index) {
  auto op = [&](unsigned k) { return ptr[in.operands()->Get(k)]; };
  auto f_op = [&](unsigned k) { return static_cast<const float *>(op(k)); };
  auto res = [&](unsigned k) { return ptr[in.results()->Get(k)]; };
  auto f_res = [&](unsigned k) { return static_cast<float *>(res(k)); };
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  auto F = [&](unsigned k) { return in.floats()->Get(k); };
  auto type = [&](unsigned k) { return host.TypeOf(in.operands()->Get(k)); };
  // The vocabulary shard along the mesh axis in int k (absent: unsplit).
  auto shard_along = [&](unsigned k, int64_t per_rank) {
    return host.VocabShardOf(in.ints()->size() > k ? I(k) : -1, per_rank);
  };
  int32_t *error = static_cast<int32_t *>(errors.ptr) + index;
  const cudaStream_t s = device->compute_stream();
  switch (in.op()) {
    case fb::Opcode::Fused: {
      // Parameters as the generated kernel declares them: operands, results,
      // then the element count (compiler/target/cuda/FusedKernelSource.h).
      std::vector<void *> pointers, args;
      for (uint32_t id : *in.operands()) pointers.push_back(ptr[id]);
      for (uint32_t id : *in.results()) pointers.push_back(ptr[id]);
      long long n = Elements(in.fused()->shape());
      for (void *&p : pointers) args.push_back(&p);
      args.push_back(&n);
      if (n == 0) return absl::OkStatus();
      const long long blocks = std::min<long long>((n + 255) / 256, 65535);
      WEFT_CUDA_RETURN_IF_ERROR(cudaLaunchKernel(reinterpret_cast<const void *>(kernels[index]),
                                                 dim3(static_cast<unsigned>(blocks)), dim3(256),
                                                 args.data(), 0, s));
      return absl::OkStatus();
    }
    case fb::Opcode::Copy: {
      const fb::CopySpec &c = *in.copy();
      return CopyStrided(op(0), c.src_offset(), ShapeOf(c.src_strides()), res(0), c.dst_offset(),
                         ShapeOf(c.dst_strides()), ShapeOf(c.shape()), DTypeSize(type(0)), s);
    }
    case fb::Opcode::Pad: {
      const fb::CopySpec &c = *in.copy();
      const int64_t n = Elements(host.Value(in.results()->Get(0)).shape());
      WEFT_CUDA_RETURN_IF_ERROR(
          cudaMemsetAsync(res(0), 0, n * DTypeSize(host.TypeOf(in.results()->Get(0))), s));
      return CopyStrided(op(0), c.src_offset(), ShapeOf(c.src_strides()), res(0), c.dst_offset(),
                         ShapeOf(c.dst_strides()), ShapeOf(c.shape()), DTypeSize(type(0)), s);
    }
    case fb::Opcode::Cast:
      return Cast(op(0), type(0), res(0), host.TypeOf(in.results()->Get(0)), I(0), s);
    case fb::Opcode::Matmul: {
      GemmShape g;
      g.batch = I(0), g.m = I(1), g.n = I(2), g.k = I(3);
      g.transpose_a = I(4) != 0, g.transpose_b = I(5) != 0, g.b_batched = I(6) != 0;
      // weftc --target=cuda's folded epilogue (gemm_epilogue.h): its
      // operands after a and b, its optional second result.
      GemmEpilogueArgs e;
      e.force_fallback = settings.epilogue_kernels;
      if (in.ints()->size() > artifact::kGemmEpilogueInt) {
        e.kind = static_cast<artifact::GemmEpilogue>(I(artifact::kGemmEpilogueInt));
        if (artifact::IsGeluGradEpilogue(e.kind)) {
          e.pre = f_op(2);
          if (e.kind == artifact::GemmEpilogue::kDGeluTanhBGrad) e.bias_grad = f_res(1);
        } else if (e.kind != artifact::GemmEpilogue::kNone) {
          e.bias = f_op(2);
          if (e.kind == artifact::GemmEpilogue::kBiasResidual) e.residual = f_op(3);
          if (in.results()->size() > 1) e.pre_out = f_res(1);
        }
      }
      // --precision=bf16: both inputs rounded to bf16, accumulated and
      // written in f32 (the CPU backend's rounding, then a bf16 GEMM).
      const bool bf16_inputs = in.ints()->size() > 7 && I(7) != 0;
      if (bf16_inputs && settings.fast_bf16_gemm) {
        g.fast_bf16 = true;
        return gemm->Run(op(0), op(1), f_res(0), g, DType::kF32, e, s);
      }
      if (bf16_inputs) {
        const int64_t a_n = g.batch * g.m * g.k, b_n = (g.b_batched ? g.batch : 1) * g.k * g.n;
        // cuBLASLt wants its operands aligned (256 bytes is its default).
        uint16_t *a16 = static_cast<uint16_t *>(scratch.ptr);
        uint16_t *b16 = a16 + (a_n + 127) / 128 * 128;
        if (absl::Status st = Cast(op(0), DType::kF32, a16, DType::kBF16, a_n, s); !st.ok()) return st;
        if (absl::Status st = Cast(op(1), DType::kF32, b16, DType::kBF16, b_n, s); !st.ok()) return st;
        return gemm->Run(a16, b16, f_res(0), g, DType::kBF16, e, s);
      }
      return gemm->Run(op(0), op(1), f_res(0), g, DType::kF32, e, s);
    }
    case fb::Opcode::Reduce: {
      std::vector<int64_t> shape = ShapeOf(host.Value(in.operands()->Get(0)).shape());
      std::vector<bool> mask;
      for (size_t d = 0; d < shape.size(); ++d) mask.push_back(I(1 + d) != 0);
      if (type(0) == DType::kF32) return Reduce(f_op(0), f_res(0), shape, mask, static_cast<int>(I(0)), s);
      return ReduceInt(op(0), res(0), type(0), shape, mask, static_cast<int>(I(0)), s);
    }
    case fb::Opcode::Softmax: return Softmax(f_op(0), f_res(0), I(0), I(1), I(2), s);
    case fb::Opcode::LayerNorm:
      return LayerNorm(f_op(0), f_op(1), f_op(2), f_res(0), I(0), I(1), F(0), s);
    case fb::Opcode::RmsNorm: return RmsNorm(f_op(0), f_op(1), f_res(0), I(0), I(1), F(0), s);
    case fb::Opcode::Embedding: {
      const Rank::VocabShard v = shard_along(3, I(0));
      return Embedding(f_op(0), I(0), I(1), op(1), type(1), I(2), f_res(0), v.begin, v.total,
                       error, s);
    }
    case fb::Opcode::Attention:
    case fb::Opcode::AttentionGrad: {
      // --precision=bf16: q, k, v (and dout) as bf16 would hold them, in
      // scratch; the attention itself stays f32 (docs/precision.md).
      const bool grad = in.op() == fb::Opcode::AttentionGrad;
      const int64_t b = I(0), h = I(1), sq = I(2), sk = I(3), dh = I(4), dv = I(5);
      const float *q = f_op(0), *k = f_op(1), *v = f_op(2), *dout = grad ? f_op(3) : nullptr;
      // Under bf16 each operand also stays as bf16 (256-byte aligned, for
      // cuBLASLt): GEMM attention's bf16-by-bf16 products use them.
      Bf16Operands bf16;
      if (in.ints()->size() > 7 && I(7) != 0) {
        bf16.fast_products = settings.fast_bf16_gemm;
        float *next = static_cast<float *>(scratch.ptr);
        uint16_t *half = reinterpret_cast<uint16_t *>(next + AttentionOperandElements(in));
        half += (128 - reinterpret_cast<uintptr_t>(half) / 2 % 128) % 128;
        for (const float **x : {&q, &k, &v, &dout}) {
          if (*x == nullptr) continue;
          const int64_t n = x == &q ? b * h * sq * dh
                            : x == &k ? b * h * sk * dh
                            : x == &v ? b * h * sk * dv
                                      : b * h * sq * dv;
          if (absl::Status st = Cast(*x, DType::kF32, half, DType::kBF16, n, s); !st.ok()) return st;
          if (absl::Status st = Cast(half, DType::kBF16, next, DType::kF32, n, s); !st.ok()) return st;
          (x == &q ? bf16.q : x == &k ? bf16.k : x == &v ? bf16.v : bf16.dout) = half;
          *x = next;
          next += n;
          half += (n + 127) / 128 * 128;
        }
      }
      AttentionShape shape{b, h, sq, sk, dh, dv, I(6) != 0, F(0)};
      if (gemm_attention[index]) {
        // The scores go after the rounded operands (ScratchBytes).
        char *scores = static_cast<char *>(scratch.ptr) + AttentionRoundedBytes(in);
        if (!grad) return AttentionByGemm(*gemm, q, k, v, f_res(0), shape, scores, s, bf16);
        return AttentionGradByGemm(*gemm, q, k, v, dout, f_res(0), f_res(1), f_res(2), shape,
                                   scores, s, bf16);
      }
      if (!grad)
        return Attention(q, k, v, f_res(0), b, h, sq, sk, dh, dv, I(6) != 0, F(0), s);
      return AttentionGrad(q, k, v, dout, f_res(0), f_res(1), f_res(2), b, h, sq, sk, dh, dv,
                           I(6) != 0, F(0), s);
    }
    case fb::Opcode::CrossEntropy:
      return CrossEntropy(f_op(0), op(1), type(1), I(0), I(1), f_res(0), error, s);
    case fb::Opcode::SoftmaxGrad: return SoftmaxGrad(f_op(0), f_op(1), f_res(0), I(0), I(1), I(2), s);
    case fb::Opcode::LayerNormGrad:
      return LayerNormGrad(f_op(0), f_op(1), f_op(2), f_res(0), f_res(1), f_res(2), I(0), I(1), F(0), s);
    case fb::Opcode::RmsNormGrad:
      return RmsNormGrad(f_op(0), f_op(1), f_op(2), f_res(0), f_res(1), I(0), I(1), F(0), s);
    case fb::Opcode::EmbeddingGrad: {
      const Rank::VocabShard v = shard_along(3, I(0));
      return EmbeddingGrad(op(0), type(0), f_op(1), f_res(0), I(0), I(1), I(2), v.begin, v.total,
                           error, s);
    }
    case fb::Opcode::VocabShardStats: {
      const Rank::VocabShard v = shard_along(2, I(1));
      return VocabShardStats(f_op(0), op(1), type(1), f_op(2), f_res(0), I(0), I(1), v.begin,
                             v.total, error, s);
    }
    case fb::Opcode::VocabShardStatsGrad: {
      const Rank::VocabShard v = shard_along(2, I(1));
      return VocabShardStatsGrad(f_op(0), op(1), type(1), f_op(2), f_op(3), f_res(0), I(0), I(1),
                                 v.begin, v.total, error, s);
    }
    case fb::Opcode::CrossEntropyGrad:
      return CrossEntropyGrad(f_op(0), op(1), type(1), f_op(2), f_res(0), I(0), I(1), error, s);
    case fb::Opcode::SgdUpdate:
      return SgdUpdate(f_op(0), f_op(1), f_op(2), f_op(3), f_res(0), f_res(1), I(0), F(0), F(1), F(2), s);
    case fb::Opcode::AdamwUpdate:
      return AdamwUpdate(f_op(0), f_op(1), f_op(2), f_op(3), f_op(4), f_res(0), f_res(1), f_res(2),
                         I(0), F(0), F(1), F(2), F(3), F(4), s);
    case fb::Opcode::AllReduce:
    case fb::Opcode::ReduceScatter:
    case fb::Opcode::AllSlice:
    case fb::Opcode::AllGather:
    case fb::Opcode::AllToAll:
    case fb::Opcode::Send:
    case fb::Opcode::Recv:
      return Collective(host, in);
  }
  return absl::InternalError("unknown opcode");
}

// Device bytes the rank needs beside its arena for one instruction:
// packed collective slices, bf16 copies of matmul operands.
size_t ScratchBytes(const Rank &host, const fb::Instruction &in, int parts_of_axis_max,
                    bool gemm_attention, bool fast_bf16_gemm) {
  auto I = [&](unsigned k) { return in.ints()->Get(k); };
  switch (in.op()) {
    case fb::Opcode::ReduceScatter:
    case fb::Opcode::AllGather:
      return parts_of_axis_max * I(in.op() == fb::Opcode::AllGather ? 0 : 1) *
             DTypeSize(host.TypeOf(in.operands()->Get(0)));
    case fb::Opcode::AllToAll:
      return 2 * parts_of_axis_max * I(0) * DTypeSize(host.TypeOf(in.operands()->Get(0)));
    case fb::Opcode::Matmul:
      if (in.ints()->size() > 7 && I(7) != 0 && !fast_bf16_gemm)
        return 2 * (I(0) * I(1) * I(3) + 128 + (I(6) ? I(0) : 1) * I(3) * I(2));
      return 0;
    case fb::Opcode::Attention:
    case fb::Opcode::AttentionGrad: {
      // The rounded operands (bf16), then the scores (GEMM attention).
      const bool grad = in.op() == fb::Opcode::AttentionGrad;
      const AttentionShape shape = ShapeOfAttention(in);
      return AttentionRoundedBytes(in) +
             (gemm_attention ? (grad ? 2 : 1) * ScoresBytes(shape) : 0);
    }
    default: return 0;
  }
}

class CudaBackend : public DeviceBackend {
 public:
  static absl::StatusOr<std::unique_ptr<DeviceBackend>> Create(const DeviceBackendContext &ctx,
                                                               const std::string &communicator);
  absl::Status RunRank(size_t local, Rank &rank, bool profiling) override;
  absl::Status PullState() override;
  // The host's values win: every caller that changes part of them pulls
  // the devices' first, and InitParameters replaces them all.
  void StateChangedOnHost() override {
    host_newer_ = true;
    device_newer_ = false;
  }
  int64_t MeasuredPeakBytes() const override;
  void Abort(size_t local, const std::string &why) override {
    for (auto &c : ranks_[local]->comms)
      if (c) c->Abort(why);
  }

 private:
  absl::Status Push();
  DeviceBackendContext ctx_;
  // Per GPU used: the bytes this program allocated up front (arenas,
  // parameters, buffers, workspaces, communicators), measured with
  // cudaMemGetInfo around the setup; the stream-ordered pool's high-water
  // mark adds the transient scratch of the steps.
  std::map<int, int64_t> static_bytes_;
  std::unique_ptr<KernelModule> module_;
  std::vector<std::unique_ptr<GpuRank>> ranks_;
  // Written by the rank threads of a step and read by the host after it.
  std::atomic<bool> host_newer_{true};     // the devices need the host's parameters and state
  std::atomic<bool> device_newer_{false};  // a step changed them on the devices
  std::mutex push_mu_;
};

absl::StatusOr<std::unique_ptr<DeviceBackend>> CudaBackend::Create(const DeviceBackendContext &ctx,
                                                                   const std::string &communicator) {
  auto gpus = CountGpus();
  if (!gpus.ok()) return gpus.status();
  const fb::Artifact &a = *ctx.art->root;
  const double timeout_s = ctx.collective_timeout_s;
  std::vector<Rank> &ranks = *ctx.ranks;
  auto backend = std::unique_ptr<CudaBackend>(new CudaBackend());
  backend->ctx_ = ctx;
  auto module = KernelModule::Load(a);
  if (!module.ok()) return module.status();
  backend->module_ = std::move(*module);
  const size_t local = ranks.size();
  const bool mpi = ctx.mpi;
  // Which GPU each local rank uses, and how its collectives run.
  std::string comm_kind = communicator;
  if (comm_kind == "auto")
    comm_kind = mpi ? "nccl" : (static_cast<int>(local) <= *gpus ? "nccl" : "cuda-inprocess");
  if (!mpi && comm_kind == "nccl" && static_cast<int>(local) > *gpus)
    return absl::FailedPreconditionError(
        StrCat("the nccl communicator needs a GPU per rank: the program has ", local, " ranks and ",
               "this machine ", *gpus, " GPU(s); use --communicator=cuda-inprocess to run them as "
               "virtual devices on one GPU"));
  if (mpi && comm_kind == "cuda-inprocess")
    return absl::InvalidArgumentError(
        "--communicator=cuda-inprocess runs the ranks as threads of one process; under mpirun "
        "each process is one rank: use nccl (or run without mpirun)");
  const char *local_rank_env = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  // What each GPU had in use before this program (its context included).
  std::map<int, int64_t> before;
  auto in_use = [](int gpu) -> absl::StatusOr<int64_t> {
    WEFT_CUDA_RETURN_IF_ERROR(cudaSetDevice(gpu));
    WEFT_CUDA_RETURN_IF_ERROR(cudaFree(nullptr));  // creates the context first
    size_t free = 0, total = 0;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free, &total));
    return static_cast<int64_t>(total - free);
  };
  // The environment's switches first: a misspelt one fails before any GPU
  // memory is taken.
  absl::StatusOr<Settings> settings = ReadSettings();
  if (!settings.ok()) return settings.status();
  if (!local_rank_env) local_rank_env = std::getenv("SLURM_LOCALID");
  const int local_rank = local_rank_env ? std::atoi(local_rank_env) : 0;

  // Each rank's GPU: in process, cuda::CreateDevices' (rank l on GPU
  // l % gpus: its own GPU under nccl, GPU 0 for every virtual device);
  // under MPI the node-local rank's.
  const int in_process_gpus = comm_kind == "nccl" ? static_cast<int>(local) : 1;
  auto gpu_of = [&](size_t l) {
    return mpi ? local_rank % *gpus : GpuOfRank(static_cast<int>(l), in_process_gpus);
  };
  for (size_t l = 0; l < local; ++l) {
    const int gpu = gpu_of(l);
    if (before.count(gpu)) continue;
    auto used = in_use(gpu);
    if (!used.ok()) return used.status();
    before[gpu] = *used;
    // The high-water marks MeasuredPeakBytes reads start from here (an
    // earlier program in this process may have raised them).
    cudaMemPool_t pool = nullptr;
    cuuint64_t zero = 0;
    WEFT_CUDA_RETURN_IF_ERROR(cudaDeviceGetDefaultMemPool(&pool, gpu));
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero));
    WEFT_CUDA_RETURN_IF_ERROR(
        cudaDeviceSetGraphMemAttribute(gpu, cudaGraphMemAttrReservedMemHigh, &zero));
  }
  // The devices and their arenas; in process CreateDevices first checks
  // that each GPU's ranks fit and says which do not.
  std::vector<std::unique_ptr<Device>> devices;
  if (mpi) {
    auto device = Device::Create(gpu_of(0), std::max<int64_t>(ranks[0].prog->arena_bytes(), 64));
    if (!device.ok()) return device.status();
    devices.push_back(std::move(*device));
  } else {
    std::vector<int64_t> arenas;
    for (const Rank &r : ranks) arenas.push_back(std::max<int64_t>(r.prog->arena_bytes(), 64));
    auto made = CreateDevices(arenas, in_process_gpus);
    if (!made.ok()) return made.status();
    devices = std::move(*made);
  }

  for (size_t l = 0; l < local; ++l) {
    const Rank &host = ranks[l];
    auto g = std::make_unique<GpuRank>();
    g->settings = *settings;
    g->device = std::move(devices[l]);
    if (absl::Status s = g->device->MakeCurrent(); !s.ok()) return s;
    auto gemm = Gemm::Create();
    if (!gemm.ok()) return gemm.status();
    g->gemm = std::move(*gemm);
    // GEMM attention's scores: at most 4 GiB, and a quarter of this rank's
    // share of the GPU's free memory (virtual devices share one GPU).
    size_t free = 0, total = 0;
    WEFT_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free, &total));
    const int sharing = mpi || comm_kind == "nccl" ? 1 : static_cast<int>(local);
    const int64_t attention_budget =
        std::min<int64_t>(int64_t{4} << 30, static_cast<int64_t>(free) / (4 * sharing));
    // Parameters, state and constants: device copies (filled by Push).
    for (bool is_state : {false, true}) {
      const std::vector<Tensor> &held = is_state ? host.states : host.params;
      std::vector<Buffer> &mine = is_state ? g->states : g->params;
      mine.resize(held.size());
      for (size_t i = 0; i < held.size(); ++i)
        if (!held[i].empty())
          if (absl::Status s = mine[i].Allocate(held[i].byte_size()); !s.ok()) return s;
    }
    g->constants.resize((*ctx.constants).size());
    for (size_t i = 0; i < (*ctx.constants).size(); ++i) {
      if (absl::Status s = g->constants[i].Allocate((*ctx.constants)[i].byte_size()); !s.ok()) return s;
      if (absl::Status s = g->device->CopyToDevice(g->constants[i].ptr, (*ctx.constants)[i].data(),
                                                   (*ctx.constants)[i].byte_size());
          !s.ok())
        return s;
    }
    // Every value's device bytes. Inputs and outputs get staging buffers,
    // one per artifact input or output: a view (reshape) has its source's
    // storage and index, and must see the same bytes.
    const auto &values = *host.prog->values();
    g->ptr.assign(values.size(), nullptr);
    g->input_of.assign(values.size(), -1);
    g->output_of.assign(values.size(), -1);
    g->input_staging.resize(a.inputs()->size());
    g->output_staging.resize(a.outputs()->size());
    for (uint32_t id = 0; id < values.size(); ++id) {
      const fb::ValueDesc &v = *values[id];
      const size_t bytes = Elements(v.shape()) * DTypeSize(static_cast<DType>(v.dtype()));
      switch (v.storage()) {
        case fb::Storage::Input:
        case fb::Storage::Output: {
          const bool input = v.storage() == fb::Storage::Input;
          Buffer &b = (input ? g->input_staging : g->output_staging).at(v.index());
          if (!b.ptr)
            if (absl::Status s = b.Allocate(bytes); !s.ok()) return s;
          if (b.bytes < bytes)
            return absl::InternalError(StrCat("value ", id, " is larger than the ",
                                              input ? "input" : "output", " it views"));
          (input ? g->input_of : g->output_of)[id] = static_cast<int>(v.index());
          g->ptr[id] = b.ptr;
          break;
        }
        case fb::Storage::Param: g->ptr[id] = g->params[v.index()].ptr; break;
        case fb::Storage::State: g->ptr[id] = g->states[v.index()].ptr; break;
        case fb::Storage::Constant: g->ptr[id] = g->constants[v.index()].ptr; break;
        case fb::Storage::Arena: {
          auto at = g->device->ArenaAt(v.index(), bytes);
          if (!at.ok()) return at.status();
          g->ptr[id] = *at;
          break;
        }
      }
    }
    // Returned values that live in device memory of another kind.
    for (uint32_t id : *host.prog->outputs()) {
      const fb::ValueDesc &v = *values[id];
      if (v.storage() == fb::Storage::Arena || v.storage() == fb::Storage::Param ||
          v.storage() == fb::Storage::State)
        g->device_outputs.push_back(
            {id, std::vector<uint8_t>(Elements(v.shape()) * DTypeSize(static_cast<DType>(v.dtype())))});
    }
    // Kernels of the fused programs; scratch; the error flags.
    size_t scratch = 0;
    int widest = 1;
    for (int e : ctx.extent) widest = std::max(widest, e);
    int mesh_ranks = 1;
    for (int e : ctx.extent) mesh_ranks *= e;
    const auto &instructions = *host.prog->instructions();
    g->kernels.assign(instructions.size(), nullptr);
    g->gemm_attention.assign(instructions.size(), false);
    for (size_t i = 0; i < instructions.size(); ++i) {
      const fb::Instruction &in = *instructions[i];
      if (in.op() == fb::Opcode::Fused) {
        if (!in.kernel())
          return absl::FailedPreconditionError(StrCat(
              ctx.art->name, " was compiled for the CPU: compile it with weftc --target=cuda to "
              "run it on the cuda backend (", in.loc() ? in.loc()->str() : "?", " has no kernel)"));
        auto k = backend->module_->Get(in.kernel()->str());
        if (!k.ok()) return k.status();
        g->kernels[i] = *k;
      }
      // A collective over more than one rank waits on the host: no graph.
      const fb::Opcode o = in.op();
      g->has_collectives |= (o == fb::Opcode::AllReduce || o == fb::Opcode::ReduceScatter ||
                             o == fb::Opcode::AllGather || o == fb::Opcode::AllToAll ||
                             o == fb::Opcode::Send || o == fb::Opcode::Recv) &&
                            mesh_ranks > 1;
      g->gemm_attention[i] =
          (in.op() == fb::Opcode::Attention || in.op() == fb::Opcode::AttentionGrad) &&
          AttentionByGemms(g->settings, ShapeOfAttention(in),
                           in.op() == fb::Opcode::AttentionGrad, attention_budget);
      scratch = std::max(scratch, ScratchBytes(host, in, widest, g->gemm_attention[i],
                                               g->settings.fast_bf16_gemm));
      for (uint32_t id : *in.results()) {
        const fb::Storage st = values[id]->storage();
        g->writes_state |= st == fb::Storage::Param || st == fb::Storage::State;
      }
    }
    if (absl::Status s = g->scratch.Allocate(scratch); !s.ok()) return s;
    if (absl::Status s = g->errors.Allocate(instructions.size() * sizeof(int32_t)); !s.ok()) return s;
    g->comms.resize(ctx.extent.size());
    backend->ranks_.push_back(std::move(g));
  }

  // Communicators, per mesh axis of more than one rank.
  for (size_t k = 0; k < ctx.extent.size(); ++k) {
    if (ctx.extent[k] == 1) continue;
    if (mpi) {  // this process's rank: NCCL over the MPI group of the axis
      GpuRank &g = *backend->ranks_[0];
      auto c = CreateNcclCommunicator(*ranks[0].comms[k], g.device->ordinal(), timeout_s,
                                      g.device->comm_stream());
      if (!c.ok()) return c.status();
      g.comms[k] = std::move(*c);
      continue;
    }
    // In process: one group per value of the other coordinates.
    for (size_t l = 0; l < local; ++l) {
      const int r = ranks[l].index;
      if ((r / ctx.stride[k]) % ctx.extent[k] != 0) continue;  // r leads its group
      std::vector<int> members, devices;
      std::vector<cudaStream_t> streams;
      for (int i = 0; i < ctx.extent[k]; ++i) {
        members.push_back(r + i * ctx.stride[k]);  // local index == rank number in process
        devices.push_back(backend->ranks_[members.back()]->device->ordinal());
        streams.push_back(backend->ranks_[members.back()]->device->comm_stream());
      }
      std::vector<std::unique_ptr<Communicator>> group;
      if (comm_kind == "nccl") {
        auto nccl = CreateNcclGroup(devices, timeout_s, streams);
        if (!nccl.ok()) return nccl.status();
        for (auto &c : *nccl) group.push_back(std::move(c));
      } else {
        auto virt = CreateCudaInProcessGroup(ctx.extent[k], devices[0], streams, timeout_s);
        if (!virt.ok()) return virt.status();
        for (auto &c : *virt) group.push_back(std::move(c));
      }
      for (int i = 0; i < ctx.extent[k]; ++i)
        backend->ranks_[members[i]]->comms[k] = std::move(group[i]);
    }
  }
  for (const auto &[gpu, used_before] : before) {
    auto used = in_use(gpu);
    if (!used.ok()) return used.status();
    backend->static_bytes_[gpu] = *used - used_before;
  }
  return std::unique_ptr<DeviceBackend>(std::move(backend));
}

int64_t CudaBackend::MeasuredPeakBytes() const {
  int64_t peak = 0;
  for (const auto &[gpu, bytes] : static_bytes_) {
    // Transient scratch: the stream-ordered pool's (eager steps) and the
    // graph pool's (replayed steps) high-water marks.
    cudaMemPool_t pool = nullptr;
    cuuint64_t high = 0, graph_high = 0;
    if (cudaDeviceGetDefaultMemPool(&pool, gpu) != cudaSuccess ||
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &high) != cudaSuccess) {
      cudaGetLastError();
      high = 0;
    }
    if (cudaDeviceGetGraphMemAttribute(gpu, cudaGraphMemAttrReservedMemHigh, &graph_high) !=
        cudaSuccess) {
      cudaGetLastError();
      graph_high = 0;
    }
    peak = std::max(peak, bytes + static_cast<int64_t>(high + graph_high));
  }
  return peak;
}

// The host's parameters and state to the devices.
absl::Status CudaBackend::Push() {
  for (size_t l = 0; l < ranks_.size(); ++l) {
    GpuRank &g = *ranks_[l];
    const Rank &host = (*ctx_.ranks)[l];
    if (absl::Status s = g.device->MakeCurrent(); !s.ok()) return s;
    for (bool is_state : {false, true}) {
      const std::vector<Tensor> &held = is_state ? host.states : host.params;
      std::vector<Buffer> &mine = is_state ? g.states : g.params;
      for (size_t i = 0; i < held.size(); ++i)
        if (!held[i].empty())
          if (absl::Status s = g.device->CopyToDevice(mine[i].ptr, held[i].data(), held[i].byte_size());
              !s.ok())
            return s;
    }
  }
  host_newer_ = false;
  return absl::OkStatus();
}

absl::Status CudaBackend::PullState() {
  if (!device_newer_) return absl::OkStatus();
  for (size_t l = 0; l < ranks_.size(); ++l) {
    GpuRank &g = *ranks_[l];
    Rank &host = (*ctx_.ranks)[l];
    if (absl::Status s = g.device->MakeCurrent(); !s.ok()) return s;
    for (bool is_state : {false, true}) {
      std::vector<Tensor> &held = is_state ? host.states : host.params;
      std::vector<Buffer> &mine = is_state ? g.states : g.params;
      for (size_t i = 0; i < held.size(); ++i)
        if (!held[i].empty())
          if (absl::Status s = g.device->CopyToHost(held[i].data(), mine[i].ptr, held[i].byte_size());
              !s.ok())
            return s;
    }
  }
  device_newer_ = false;
  return absl::OkStatus();
}

absl::Status CudaBackend::RunRank(size_t local, Rank &host, bool profiling) {
  GpuRank &g = *ranks_[local];
  if (absl::Status s = g.device->MakeCurrent(); !s.ok()) return s;
  {
    // The first rank thread to get here pushes for all (before any runs).
    std::lock_guard<std::mutex> lock(push_mu_);
    if (host_newer_)
      if (absl::Status s = Push(); !s.ok()) return s;
    if (absl::Status s = g.device->MakeCurrent(); !s.ok()) return s;
  }
  const cudaStream_t s = g.device->compute_stream();
  const auto &values = *host.prog->values();
  auto bytes_of = [&](uint32_t id) {
    return Elements(values[id]->shape()) * DTypeSize(static_cast<DType>(values[id]->dtype()));
  };
  // Each input once (its views share the staging buffer), at its full size.
  std::vector<bool> copied(g.input_staging.size(), false);
  for (uint32_t id = 0; id < values.size(); ++id) {
    const int i = g.input_of[id];
    if (i < 0 || copied[i] || bytes_of(id) != g.input_staging[i].bytes) continue;
    copied[i] = true;
    WEFT_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(g.ptr[id], host.ptr[id], bytes_of(id), cudaMemcpyHostToDevice, s));
  }
  // One device, not profiled: the second step is captured as a graph and
  // replayed from then on (the first warms cuBLASLt's choices and loads).
  const bool tracing = host.trace.on();
  const int64_t step_start = tracing ? host.trace.Now() : 0;
  const bool graphs = !g.has_collectives && !profiling && !tracing && !g.graph_failed &&
                      g.settings.graphs;
  if (graphs && g.graph) {
    WEFT_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(g.graph, s));
  } else if (graphs && g.eager_steps >= 1) {
    cudaGraph_t graph = nullptr;
    WEFT_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    // Nothing runs while capturing: a call that cannot be captured fails
    // the capture (and the calls after it), not the step.
    const absl::Status captured = g.Steps(host, false);
    const cudaError_t end = cudaStreamEndCapture(s, &graph);
    cudaError_t made = end;
    if (captured.ok() && made == cudaSuccess) made = cudaGraphInstantiate(&g.graph, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (!captured.ok() || made != cudaSuccess) {
      // Say why once and run this rank eagerly from now on (this step too):
      // a real error shows up again there, with its location.
      cudaGetLastError();
      if (g.graph) cudaGraphExecDestroy(g.graph);
      g.graph = nullptr;
      g.graph_failed = true;
      std::fprintf(stderr, "weft: rank %d: no CUDA graph (%s); running eagerly\n", host.index,
                   !captured.ok() ? std::string(captured.message()).c_str()
                                  : cudaGetErrorString(made));
      if (absl::Status eager = g.Steps(host, false); !eager.ok()) return eager;
    } else {
      WEFT_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(g.graph, s));
    }
  } else {
    if (absl::Status st = g.Steps(host, profiling); !st.ok()) return st;
    ++g.eager_steps;
  }
  // Each output once, from the value that has its full size (the host
  // pointer of a view is its source's).
  std::vector<bool> returned(g.output_staging.size(), false);
  for (uint32_t id = 0; id < values.size(); ++id) {
    const int o = g.output_of[id];
    if (o < 0 || returned[o] || bytes_of(id) != g.output_staging[o].bytes) continue;
    returned[o] = true;
    WEFT_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(host.ptr[id], g.ptr[id], bytes_of(id), cudaMemcpyDeviceToHost, s));
  }
  for (auto &[id, bytes] : g.device_outputs) {
    WEFT_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(bytes.data(), g.ptr[id], bytes.size(), cudaMemcpyDeviceToHost, s));
    host.ptr[id] = bytes.data();  // where Program::Run copies it from
  }
  std::vector<int32_t> errors(g.errors.bytes / sizeof(int32_t));
  WEFT_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(errors.data(), g.errors.ptr, g.errors.bytes, cudaMemcpyDeviceToHost, s));
  if (absl::Status st = g.device->Synchronize(); !st.ok()) return st;
  if (g.writes_state) device_newer_ = true;
  for (size_t i = 0; i < errors.size(); ++i)
    if (errors[i] != 0) {
      const fb::Instruction &in = *host.prog->instructions()->Get(i);
      return absl::InvalidArgumentError(
          StrCat(in.loc() ? in.loc()->str() : "?", ": ", in.name() ? in.name()->str() : "?",
                 ": an id or label out of range at element ", errors[i] - 1,
                 " of its integer operand"));
    }
  for (const auto &comm : g.comms)
    if (comm)
      if (absl::Status st = comm->FinishSends(); !st.ok()) return st;
  if (tracing) {
    host.trace.Record(host.index, trace::kNoInstruction, trace::Track::kSteps,
                      trace::Category::kStep, step_start, host.trace.Now());
    host.trace.EndStep();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateCudaBackend(const DeviceBackendContext &ctx,
                                                                 const std::string &communicator) {
  return CudaBackend::Create(ctx, communicator);
}

}  // namespace weft::cuda

// The inside of weft::Program, shared by the files that implement it:
// program.cc (loading, running, memory) and parameters.cc (initialising,
// loading, saving and reading parameters). Private to the runtime.
#ifndef WEFT_RUNTIME_EXECUTOR_PROGRAM_IMPL_H
#define WEFT_RUNTIME_EXECUTOR_PROGRAM_IMPL_H

#include <cstdlib>
#include <memory>
#include <vector>

#include "runtime/artifact/format.h"
#include "runtime/artifact/reader.h"
#include "runtime/collectives/communicator.h"
#include "runtime/cpu/fused.h"
#include "runtime/executor/device_backend.h"
#include "runtime/executor/trace.h"
#include "weft/runtime.h"

namespace weft {

inline std::vector<int64_t> ShapeOf(const flatbuffers::Vector<int64_t> *s) {
  return s ? std::vector<int64_t>(s->begin(), s->end()) : std::vector<int64_t>{};
}

inline TensorInfo InfoOf(const fb::TensorSpec &t) {
  return {t.name()->str(), static_cast<DType>(t.dtype()), ShapeOf(t.shape())};
}

struct AlignedFree {
  void operator()(uint8_t *p) const { std::free(p); }
};

// Between a whole tensor and one rank's slice of it along `dim` (tensor
// parallelism): the slice is `parts` equal pieces' number `part`.
void CopySlice(void *whole, void *slice, const std::vector<int64_t> &shape, int dim, int part,
               int parts, size_t element, bool to_slice);

// A parameter's tensor-parallel split as CopySlice and FillRandomSlice take
// it. A grouped split (an LSTM's gates, split_groups > 1) views split_dim as
// [groups, n / groups] and splits the inner one: an ordinary split of that
// reshaped tensor, whose elements are in the same order.
struct SplitView {
  std::vector<int64_t> shape;
  int dim;
};
SplitView ViewOf(std::vector<int64_t> shape, const fb::ParamSpec &p);

// One rank's piece of a tensor of `shape` given whole (a SplitView's shape
// and dim for a grouped split): its tp slice along `dim` (none when -1), and
// under ZeRO-1 (`flat`) its dp coordinate's contiguous 1/dp of that slice,
// flattened.
void TakePiece(const Tensor &whole, Tensor &piece, const std::vector<int64_t> &shape, int dim,
               bool flat, int d, int t, int tp);

// One rank: its program, its copy of the parameters and optimizer state,
// its arena, and its communicators. Data-parallel ranks hold identical
// parameters (same init, same averaged updates); a pipeline stage holds its
// own only (the others' entries are empty tensors).
struct Rank {
  int index = 0;            // the rank number in the mesh
  int p = 0, d = 0, t = 0;  // its pipeline, data- and tensor-parallel coordinates
  std::vector<int> coord;   // per mesh axis (the grid axes of the collectives)
  const fb::RankProgram *prog = nullptr;
  std::vector<Tensor> params, states;
  std::unique_ptr<uint8_t, AlignedFree> arena;
  std::vector<cpu::FusedKernel> fused;  // per instruction; empty unless Fused
  std::vector<void *> ptr;              // value id -> its bytes, set per run
  // Per mesh axis: the group of ranks that differ only in that coordinate;
  // null where the axis has one rank (the collective is then the identity).
  std::vector<std::unique_ptr<Communicator>> comms;
  std::vector<int64_t> calls;           // per instruction, when profiling
  std::vector<double> seconds;
  trace::TraceRecorder trace;           // its timeline, when tracing (only its thread writes)

  const fb::ValueDesc &Value(uint32_t id) const { return *prog->values()->Get(id); }
  DType TypeOf(uint32_t id) const { return static_cast<DType>(Value(id).dtype()); }
  absl::Status Execute(const fb::Instruction &in, size_t index);
  absl::Status RunAll(bool profiling);
  Communicator *CommOf(int64_t axis) const {
    return axis >= 0 && axis < static_cast<int64_t>(comms.size()) ? comms[axis].get() : nullptr;
  }
  int CoordOf(int64_t axis) const {
    return axis >= 0 && axis < static_cast<int64_t>(coord.size()) ? coord[axis] : 0;
  }
  int SizeOf(int64_t axis) const {
    const Communicator *c = CommOf(axis);
    return c ? c->size() : 1;
  }
  /// A vocabulary split along mesh `axis` (-1: not split), `per_rank` rows
  /// each: this rank's first row and the whole vocabulary ({0, 0}: unsplit).
  struct VocabShard {
    int64_t begin, total;
  };
  VocabShard VocabShardOf(int64_t axis, int64_t per_rank) const {
    if (axis < 0) return {0, 0};
    return {CoordOf(axis) * per_rank, SizeOf(axis) * per_rank};
  }
};

struct Program::Impl {
  std::shared_ptr<const artifact::Artifact> art;
  std::vector<Rank> ranks;
  std::vector<Tensor> constants;  // shared by the ranks, read only
  // The cuda backend (null on cpu): runs the ranks, mirrors their
  // parameters and state on the devices.
  std::unique_ptr<DeviceBackend> device;
  bool profiling = false;
  // Tracing under MPI, on process 0: how far each rank's clock may be off
  // from rank 0's (see trace::AlignedNow); empty in process.
  std::vector<int64_t> clock_error_ns;
  int threads_per_rank = 0;
  int num_ranks = 1;          // of the mesh; more than ranks.size() under MPI
  int pp = 1, dp = 1, tp = 1;  // the mesh's axes: num_ranks = pp * dp * tp
  // Per named axis, its index in the mesh (-1 when absent); and per mesh
  // axis its size and its stride in the rank number (row-major).
  int pp_axis = -1, dp_axis = -1, tp_axis = -1;
  std::vector<int> extent, stride;
  Communicator *process_comm = nullptr;  // under MPI: the world of this process's rank
  // Under MPI: the world on a mesh of several axes (the axes' groups are the
  // ranks'), and this rank's group along pp, dp (gathered outputs, ZeRO
  // state) and tp (split parameters), null where the mesh lacks the axis.
  std::unique_ptr<Communicator> world;
  Communicator *pp_comm = nullptr, *dp_comm = nullptr, *tp_comm = nullptr;

  const fb::Artifact &root() const { return *art->root; }
  // Coordinate of rank number r along mesh axis `axis` (0 when absent).
  int Coord(int r, int axis) const { return axis < 0 ? 0 : (r / stride[axis]) % extent[axis]; }
  int RankAt(int p, int d, int t) const;
  // The first pipeline stage that holds parameter (or optimizer state) i:
  // its owner for saving.
  int OwnerStage(size_t i, bool is_state) const;
  // Tensor i whole from the ranks' pieces, as process 0 must write it (see
  // parameters.cc); under MPI a collective that every process calls.
  absl::StatusOr<Tensor> Whole(const TensorInfo &info, bool is_state, size_t i) const;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_EXECUTOR_PROGRAM_IMPL_H

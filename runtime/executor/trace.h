// The timeline recorder behind Program::set_tracing / WriteTrace: what ran,
// on which rank and track, when, and for how long.
//
// Each rank has its own TraceRecorder, appended to only by the thread that
// runs that rank, so recording takes no lock; when tracing is off it costs
// one branch per instruction. An event is a few integers: the instruction's
// details (opcode, source op, location, sharding, bytes, peer) are looked up
// in the artifact when the trace is written (chrome_trace.h), which also
// keeps the events plain bytes that MPI can gather.
//
// Backends share this structure: the CPU backend records on the tracks
// compute / comm / copy (one thread per rank, so they never overlap); the
// CUDA backend records the same events on "compute stream" / "comm stream",
// converting its GPU timings to this clock.
#ifndef WEFT_RUNTIME_EXECUTOR_TRACE_H
#define WEFT_RUNTIME_EXECUTOR_TRACE_H

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/artifact/artifact_generated.h"

namespace weft::trace {

// A row of a rank's timeline. The values are the row ids ("tid") in the file.
enum class Track : uint8_t {
  kSteps = 0,          // one event per Run
  kCompute = 1,        // CPU: kernels
  kComm = 2,           // CPU: collectives and point-to-point messages
  kCopy = 3,           // CPU: strided copies, pads, local slices
  kComputeStream = 4,  // CUDA: the compute stream
  kCommStream = 5,     // CUDA: the communication stream
};
const char *TrackName(Track t);

enum class Category : uint8_t { kStep = 0, kKernel, kCollective, kCopy, kP2P };
const char *CategoryName(Category c);

// No instruction: a step, or the wait for a step's sends to leave.
constexpr int32_t kNoInstruction = -1;
constexpr int32_t kFinishSends = -2;

struct Event {
  int64_t start_ns = 0;     // since the trace's t0 (one clock per process, see TraceRecorder)
  int64_t duration_ns = 0;
  int64_t step = 0;         // the Run since tracing began, from 0
  int32_t rank = 0;         // in the mesh
  int32_t instruction = kNoInstruction;  // index in the rank's instruction list
  Track track = Track::kCompute;
  Category category = Category::kKernel;
};
// Gathered between processes as raw bytes (every process runs this binary).
static_assert(std::is_trivially_copyable_v<Event>);

// The CPU backend's track and category for an opcode.
std::pair<Track, Category> CpuPlacement(fb::Opcode op);

inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One rank's events. All the ranks of a process start with the same t0, so
// their events share one clock.
class TraceRecorder {
 public:
  bool on() const { return on_; }
  // Drops what was recorded and records from t0_ns (a SteadyNowNs reading).
  void Start(int64_t t0_ns) {
    on_ = true;
    t0_ns_ = t0_ns;
    step_ = 0;
    events_.clear();
  }
  // Records no more; keeps what it has.
  void Stop() { on_ = false; }
  int64_t Now() const { return SteadyNowNs() - t0_ns_; }
  void Record(int32_t rank, int32_t instruction, Track track, Category category, int64_t start,
              int64_t end) {
    events_.push_back({start, end - start, step_, rank, instruction, track, category});
  }
  // A Run ended: its events so far belong to step `step()`, later ones to the next.
  void EndStep() { ++step_; }
  int64_t step() const { return step_; }
  const std::vector<Event> &events() const { return events_; }

 private:
  bool on_ = false;
  int64_t t0_ns_ = 0;
  int64_t step_ = 0;
  std::vector<Event> events_;
};

}  // namespace weft::trace

#endif  // WEFT_RUNTIME_EXECUTOR_TRACE_H

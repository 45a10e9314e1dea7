// Names of the trace's tracks and categories, and where the CPU backend puts
// each opcode (see trace.h).
#include "runtime/executor/trace.h"

namespace weft::trace {

const char *TrackName(Track t) {
  switch (t) {
    case Track::kSteps: return "steps";
    case Track::kCompute: return "compute";
    case Track::kComm: return "comm";
    case Track::kCopy: return "copy";
    case Track::kComputeStream: return "compute stream";
    case Track::kCommStream: return "comm stream";
  }
  return "?";
}

const char *CategoryName(Category c) {
  switch (c) {
    case Category::kStep: return "step";
    case Category::kKernel: return "kernel";
    case Category::kCollective: return "collective";
    case Category::kCopy: return "copy";
    case Category::kP2P: return "p2p";
  }
  return "?";
}

std::pair<Track, Category> CpuPlacement(fb::Opcode op) {
  switch (op) {
    case fb::Opcode::AllReduce:
    case fb::Opcode::ReduceScatter:
    case fb::Opcode::AllGather:
    case fb::Opcode::AllToAll:
      return {Track::kComm, Category::kCollective};
    case fb::Opcode::Send:
    case fb::Opcode::Recv:
      return {Track::kComm, Category::kP2P};
    // all_slice takes this rank's slice of a value it already holds: a local
    // copy, no communication.
    case fb::Opcode::Copy:
    case fb::Opcode::Pad:
    case fb::Opcode::AllSlice:
      return {Track::kCopy, Category::kCopy};
    default:
      return {Track::kCompute, Category::kKernel};
  }
}

}  // namespace weft::trace

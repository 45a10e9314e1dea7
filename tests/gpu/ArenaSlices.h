// Consecutive 256-byte aligned slices of a test device's arena (cuBLASLt's
// preferred alignment), for tests that lay out several device tensors.
#ifndef WEFT_TESTS_GPU_ARENASLICES_H
#define WEFT_TESTS_GPU_ARENASLICES_H

#include <cstdint>

#include "runtime/cuda/device.h"

namespace weft::cuda {

class ArenaSlices {
 public:
  explicit ArenaSlices(Device &device) : device_(device) {}
  /// The next `bytes`; the arena must hold them (Device::ArenaAt checks).
  template <typename T = void>
  T *Take(int64_t bytes) {
    void *p = *device_.ArenaAt(at_, bytes);
    at_ += (bytes + 255) / 256 * 256;
    return static_cast<T *>(p);
  }

 private:
  Device &device_;
  int64_t at_ = 0;
};

}  // namespace weft::cuda

#endif

// A test that needs GPUs starts with WEFT_REQUIRE_GPUS(n). Without them it is
// skipped with one line that says why (cudaGetDeviceCount's answer, or how
// many GPUs there are), so it never passes for work it did not do.
#ifndef WEFT_TESTS_GPU_REQUIREGPU_H
#define WEFT_TESTS_GPU_REQUIREGPU_H

#include <gtest/gtest.h>

#include "runtime/cuda/backend.h"

#define WEFT_REQUIRE_GPUS(n)                                                          \
  do {                                                                                \
    const absl::StatusOr<int> _weft_gpus = ::weft::cuda::CountGpus();                 \
    if (!_weft_gpus.ok()) GTEST_SKIP() << _weft_gpus.status().message();              \
    if (*_weft_gpus < (n))                                                            \
      GTEST_SKIP() << "needs " << (n) << " CUDA GPUs; this machine has " << *_weft_gpus; \
  } while (0)

#endif

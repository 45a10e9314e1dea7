// ReduceBuffers: the element-wise reduction of `parts` buffers of one
// dtype, in buffer order, with the in-process communicator's semantics
// (collectives/inprocess.cc): f32 adds in float, i32/i64 wrap, bf16/f16 are
// widened to float in order and rounded once; average divides the sum by
// the count (truncating for integers). One thread per element.
//
// Correctness first: one element per thread. The fast one should move 16
// bytes per thread, and the cuda-inprocess communicator should overlap it
// with the copies between GPUs (or leave the reduction to NCCL).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_COLLECTIVES_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_COLLECTIVES_CUH

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/convert.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

/// The buffers, by value in the kernel's parameters (64 pointers: 512 of
/// its 4096 bytes).
constexpr int kMaxReduceParts = 64;
struct BufferList {
  const void *p[kMaxReduceParts];
  int n;
};

// kind (communicator.h's ReduceKind): 0 sum, 1 average, 2 max, 3 min.
template <typename T>
__device__ __forceinline__ T Combine(T acc, T v, int kind) {
  if (kind == 2) return v > acc ? v : acc;
  if (kind == 3) return v < acc ? v : acc;
  return acc + v;
}

template <typename T>
__global__ void ReduceBuffersFloat(BufferList parts, T *out, int64_t count, int kind) {
  for (int64_t i = FirstItem(); i < count; i += ItemStride()) {
    T acc = static_cast<const T *>(parts.p[0])[i];
    for (int r = 1; r < parts.n; ++r) acc = Combine(acc, static_cast<const T *>(parts.p[r])[i], kind);
    if (kind == 1) acc = acc / static_cast<T>(parts.n);
    out[i] = acc;
  }
}

/// Integers: sums wrap (computed unsigned), as the CPU's fixed-width ones.
template <typename T, typename U>
__global__ void ReduceBuffersInt(BufferList parts, T *out, int64_t count, int kind) {
  for (int64_t i = FirstItem(); i < count; i += ItemStride()) {
    T acc = static_cast<const T *>(parts.p[0])[i];
    for (int r = 1; r < parts.n; ++r) {
      const T v = static_cast<const T *>(parts.p[r])[i];
      acc = kind <= 1 ? static_cast<T>(static_cast<U>(acc) + static_cast<U>(v)) : Combine(acc, v, kind);
    }
    if (kind == 1) acc = acc / static_cast<T>(parts.n);
    out[i] = acc;
  }
}

/// bf16 (bf16 = true) or f16: widened to float in buffer order, rounded once.
__global__ void ReduceBuffersHalf(BufferList parts, uint16_t *out, int64_t count, int kind,
                                  bool bf16) {
  for (int64_t i = FirstItem(); i < count; i += ItemStride()) {
    auto load = [&](int r) {
      const uint16_t h = static_cast<const uint16_t *>(parts.p[r])[i];
      return bf16 ? Bf16ToF32(h) : F16ToF32(h);
    };
    float acc = load(0);
    for (int r = 1; r < parts.n; ++r) acc = Combine(acc, load(r), kind);
    if (kind == 1) acc /= static_cast<float>(parts.n);
    out[i] = bf16 ? F32ToBf16(acc) : F32ToF16(acc);
  }
}

template <typename Launch>
absl::Status ReduceBuffersRun(const Launch &launch, const void *const *parts, int num_parts,
                              void *out, int64_t count, DType dtype, int kind) {
  if (num_parts < 1 || num_parts > kMaxReduceParts)
    return absl::InvalidArgumentError(absl::StrCat("reducing ", num_parts, " buffers (1 to ",
                                                   kMaxReduceParts, " supported)"));
  if (kind < 0 || kind > 3)
    return absl::InvalidArgumentError(
        absl::StrCat("reduce kind ", kind, " is not sum, average, max or min"));
  BufferList list{};
  list.n = num_parts;
  for (int r = 0; r < num_parts; ++r) list.p[r] = parts[r];
  switch (dtype) {
    case DType::kF32:
      launch(ReduceBuffersFloat<float>, count, list, static_cast<float *>(out), count, kind);
      break;
    case DType::kI32:
      launch(ReduceBuffersInt<int32_t, uint32_t>, count, list, static_cast<int32_t *>(out), count, kind);
      break;
    case DType::kI64:
      launch(ReduceBuffersInt<int64_t, uint64_t>, count, list, static_cast<int64_t *>(out), count, kind);
      break;
    case DType::kBF16:
    case DType::kF16:
      launch(ReduceBuffersHalf, count, list, static_cast<uint16_t *>(out), count, kind,
             dtype == DType::kBF16);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("reduce of unknown element type ", static_cast<int>(dtype)));
  }
  return absl::OkStatus();
}

}  // namespace weft::cuda::kernels

#endif

// Layout kernels: CopyStrided, Cast, PackSlices and UnpackSlices, the twins
// of cpu::CopyStrided, cpu::Cast and executor/blocks.h. One thread per
// element (or per word of a slice), in a grid-stride loop.
//
// Correctness first: CopyStrided decodes every element's index with
// divisions. The fast one should give a thread a contiguous run of the
// innermost dimension (vectorised 16-byte loads when the strides allow) and
// tile a transpose through shared memory so both sides are coalesced.
#ifndef WEFT_RUNTIME_CUDA_KERNELS_LAYOUT_CUH
#define WEFT_RUNTIME_CUDA_KERNELS_LAYOUT_CUH

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/cuda/kernels/convert.cuh"
#include "runtime/cuda/kernels/prelude.cuh"

namespace weft::cuda::kernels {

// ---------------------------------------------------------------- CopyStrided

constexpr int kMaxCopyRank = 8;

/// A copy's shape and strides (in elements), passed by value to the kernel.
struct StridedCopy {
  int rank;
  int64_t shape[kMaxCopyRank], src[kMaxCopyRank], dst[kMaxCopyRank];
};

// Element i's source and destination offsets, from its row-major index.
__device__ __forceinline__ void CopyOffsets(const StridedCopy &c, int64_t i, int64_t &so,
                                            int64_t &dof) {
  so = 0;
  dof = 0;
  for (int d = c.rank - 1; d >= 0; --d) {
    const int64_t idx = i % c.shape[d];
    i /= c.shape[d];
    so += idx * c.src[d];
    dof += idx * c.dst[d];
  }
}

/// Elements of a power-of-two size, moved as one word each.
template <typename Word>
__global__ void CopyStridedWords(const Word *src, Word *dst, StridedCopy c, int64_t n) {
  for (int64_t i = FirstItem(); i < n; i += ItemStride()) {
    int64_t so, dof;
    CopyOffsets(c, i, so, dof);
    dst[dof] = src[so];
  }
}

/// Any element size: one thread per byte.
__global__ void CopyStridedBytes(const unsigned char *src, unsigned char *dst, StridedCopy c,
                                 int64_t n, int64_t element_size) {
  for (int64_t i = FirstItem(); i < n * element_size; i += ItemStride()) {
    int64_t so, dof;
    CopyOffsets(c, i / element_size, so, dof);
    const int64_t b = i % element_size;
    dst[dof * element_size + b] = src[so * element_size + b];
  }
}

template <typename Launch>
absl::Status CopyStridedRun(const Launch &launch, const void *src, int64_t src_offset,
                            const std::vector<int64_t> &src_strides, void *dst,
                            int64_t dst_offset, const std::vector<int64_t> &dst_strides,
                            const std::vector<int64_t> &shape, size_t element_size) {
  if (src_strides.size() != shape.size() || dst_strides.size() != shape.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "strided copy: ", shape.size(), " dimensions but ", src_strides.size(),
        " source and ", dst_strides.size(), " destination strides"));
  // Drop size-1 dimensions and merge runs that are contiguous on both sides
  // (as the CPU kernel does): fewer divisions per element.
  StridedCopy c{};
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      return absl::InvalidArgumentError(absl::StrCat("strided copy: dimension ", i, " is ", shape[i]));
    n *= shape[i];
    if (shape[i] == 1) continue;
    if (c.rank > 0 && c.src[c.rank - 1] == src_strides[i] * shape[i] &&
        c.dst[c.rank - 1] == dst_strides[i] * shape[i]) {
      c.shape[c.rank - 1] *= shape[i];
      c.src[c.rank - 1] = src_strides[i];
      c.dst[c.rank - 1] = dst_strides[i];
      continue;
    }
    if (c.rank == kMaxCopyRank)
      return absl::InvalidArgumentError(absl::StrCat(
          "strided copy of ", shape.size(), " dimensions that do not merge into ", kMaxCopyRank));
    c.shape[c.rank] = shape[i];
    c.src[c.rank] = src_strides[i];
    c.dst[c.rank] = dst_strides[i];
    ++c.rank;
  }
  if (n == 0 || element_size == 0) return absl::OkStatus();
  const auto *s = static_cast<const unsigned char *>(src) + src_offset * static_cast<int64_t>(element_size);
  auto *d = static_cast<unsigned char *>(dst) + dst_offset * static_cast<int64_t>(element_size);
  // A word copy needs both ends aligned to the word.
  const bool aligned = (reinterpret_cast<uintptr_t>(s) | reinterpret_cast<uintptr_t>(d)) % element_size == 0;
  if (aligned && element_size == 8)
    launch(CopyStridedWords<uint64_t>, n, reinterpret_cast<const uint64_t *>(s), reinterpret_cast<uint64_t *>(d), c, n);
  else if (aligned && element_size == 4)
    launch(CopyStridedWords<uint32_t>, n, reinterpret_cast<const uint32_t *>(s), reinterpret_cast<uint32_t *>(d), c, n);
  else if (aligned && element_size == 2)
    launch(CopyStridedWords<uint16_t>, n, reinterpret_cast<const uint16_t *>(s), reinterpret_cast<uint16_t *>(d), c, n);
  else
    launch(CopyStridedBytes, n * static_cast<int64_t>(element_size), s, d, c, n,
           static_cast<int64_t>(element_size));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Cast

// An element on its way between types: an exact integer, or a float (f32
// holds every bf16 and f16 exactly).
struct CastValue {
  bool is_int;
  int64_t i;
  float f;
};

template <DType T>
__device__ __forceinline__ CastValue CastLoad(const void *src, int64_t k) {
  if constexpr (T == DType::kF32) return {false, 0, static_cast<const float *>(src)[k]};
  if constexpr (T == DType::kBF16) return {false, 0, Bf16ToF32(static_cast<const uint16_t *>(src)[k])};
  if constexpr (T == DType::kF16) return {false, 0, F16ToF32(static_cast<const uint16_t *>(src)[k])};
  if constexpr (T == DType::kI32) return {true, static_cast<const int32_t *>(src)[k], 0.0f};
  if constexpr (T == DType::kI64) return {true, static_cast<const int64_t *>(src)[k], 0.0f};
}

template <DType T>
__device__ __forceinline__ void CastStore(const CastValue &v, void *dst, int64_t k) {
  if constexpr (T == DType::kF32)
    static_cast<float *>(dst)[k] = v.is_int ? static_cast<float>(v.i) : v.f;
  if constexpr (T == DType::kBF16)
    static_cast<uint16_t *>(dst)[k] =
        F32ToBf16(v.is_int ? static_cast<float>(RoundIntToBits(v.i, 8)) : v.f);
  if constexpr (T == DType::kF16)
    static_cast<uint16_t *>(dst)[k] =
        F32ToF16(v.is_int ? static_cast<float>(RoundIntToBits(v.i, 11)) : v.f);
  // i64 -> i32 wraps (two's complement), as numpy's astype does.
  if constexpr (T == DType::kI32)
    static_cast<int32_t *>(dst)[k] =
        v.is_int ? static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v.i)))
                 : FloatToInt<int32_t>(v.f);
  if constexpr (T == DType::kI64)
    static_cast<int64_t *>(dst)[k] = v.is_int ? v.i : FloatToInt<int64_t>(v.f);
}

template <DType From, DType To>
__global__ void CastKernel(const void *src, void *dst, int64_t n) {
  for (int64_t k = FirstItem(); k < n; k += ItemStride())
    CastStore<To>(CastLoad<From>(src, k), dst, k);
}

/// A plain copy, for a cast to the same type.
__global__ void CopyBytes(const unsigned char *src, unsigned char *dst, int64_t n) {
  for (int64_t k = FirstItem(); k < n; k += ItemStride()) dst[k] = src[k];
}

template <DType From, typename Launch>
void CastFrom(const Launch &launch, const void *src, void *dst, DType to, int64_t n) {
  switch (to) {
    case DType::kF32: return launch(CastKernel<From, DType::kF32>, n, src, dst, n);
    case DType::kBF16: return launch(CastKernel<From, DType::kBF16>, n, src, dst, n);
    case DType::kF16: return launch(CastKernel<From, DType::kF16>, n, src, dst, n);
    case DType::kI32: return launch(CastKernel<From, DType::kI32>, n, src, dst, n);
    case DType::kI64: return launch(CastKernel<From, DType::kI64>, n, src, dst, n);
  }
}

inline bool KnownDType(DType t) {
  return t == DType::kF32 || t == DType::kBF16 || t == DType::kF16 || t == DType::kI32 ||
         t == DType::kI64;
}

template <typename Launch>
absl::Status CastRun(const Launch &launch, const void *src, DType src_type, void *dst,
                     DType dst_type, int64_t n) {
  if (!KnownDType(src_type) || !KnownDType(dst_type))
    return absl::InvalidArgumentError(absl::StrCat("cast between unknown element types ",
                                                   static_cast<int>(src_type), " and ",
                                                   static_cast<int>(dst_type)));
  if (n <= 0) return absl::OkStatus();
  if (src_type == dst_type) {
    const int64_t bytes = n * static_cast<int64_t>(DTypeSize(src_type));
    launch(CopyBytes, bytes, static_cast<const unsigned char *>(src),
           static_cast<unsigned char *>(dst), bytes);
    return absl::OkStatus();
  }
  switch (src_type) {
    case DType::kF32: CastFrom<DType::kF32>(launch, src, dst, dst_type, n); break;
    case DType::kBF16: CastFrom<DType::kBF16>(launch, src, dst, dst_type, n); break;
    case DType::kF16: CastFrom<DType::kF16>(launch, src, dst, dst_type, n); break;
    case DType::kI32: CastFrom<DType::kI32>(launch, src, dst, dst_type, n); break;
    case DType::kI64: CastFrom<DType::kI64>(launch, src, dst, dst_type, n); break;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Pack / Unpack

/// Pack (unpack = false): dst slice p, row o = src row o, columns of slice
/// p; Unpack the inverse. Widths in words; one thread per word.
template <typename Word>
__global__ void PackSlicesKernel(const Word *src, Word *dst, int64_t outer, int64_t parts,
                                 int64_t width, bool unpack) {
  const int64_t n = outer * parts * width;
  for (int64_t i = FirstItem(); i < n; i += ItemStride()) {
    const int64_t p = i / (outer * width), rem = i % (outer * width);
    const int64_t o = rem / width, c = rem % width;
    const int64_t packed = (p * outer + o) * width + c, strided = (o * parts + p) * width + c;
    if (unpack)
      dst[strided] = src[packed];
    else
      dst[packed] = src[strided];
  }
}

template <typename Launch>
absl::Status PackSlicesRun(const Launch &launch, const void *src, void *dst, int64_t outer,
                           int parts, size_t width_bytes, bool unpack) {
  if (outer < 0 || parts < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("packing ", outer, " rows of ", parts, " slices"));
  const int64_t w = static_cast<int64_t>(width_bytes);
  if (outer == 0 || parts == 0 || w == 0) return absl::OkStatus();
  const uintptr_t bits = reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst) |
                         static_cast<uintptr_t>(w);
  // The widest word that divides the width and both addresses.
  if (bits % 8 == 0)
    launch(PackSlicesKernel<uint64_t>, outer * parts * (w / 8), static_cast<const uint64_t *>(src),
           static_cast<uint64_t *>(dst), outer, int64_t{parts}, w / 8, unpack);
  else if (bits % 4 == 0)
    launch(PackSlicesKernel<uint32_t>, outer * parts * (w / 4), static_cast<const uint32_t *>(src),
           static_cast<uint32_t *>(dst), outer, int64_t{parts}, w / 4, unpack);
  else if (bits % 2 == 0)
    launch(PackSlicesKernel<uint16_t>, outer * parts * (w / 2), static_cast<const uint16_t *>(src),
           static_cast<uint16_t *>(dst), outer, int64_t{parts}, w / 2, unpack);
  else
    launch(PackSlicesKernel<unsigned char>, outer * parts * w,
           static_cast<const unsigned char *>(src), static_cast<unsigned char *>(dst), outer,
           int64_t{parts}, w, unpack);
  return absl::OkStatus();
}

}  // namespace weft::cuda::kernels

#endif

// The CUDA backend's kernels for the artifact's non-fused opcodes (GEMMs go
// to cuBLASLt, gemm.h; fused elementwise programs are generated at compile
// time, compiler/target/cuda). Each launcher mirrors the CPU kernel of the
// same name (runtime/cpu/kernels.h, grad_kernels.h, optimizers.h,
// vocab_shard.h) with device pointers, and enqueues on `stream` without
// waiting. The CPU kernel is the oracle: tests/gpu/KernelsTest.cc compares
// the two on a GPU, and tests/runtime/CudaKernelEmulationTest.cc runs the same
// kernel bodies (kernels/*.cuh) on the host.
//
// Ids and labels are checked on the device: an out-of-range one sets
// `*error` (device memory, one int32) to 1 + its flat index, and the row is
// left as zeros; the executor reads the flag once per step and reports it
// with the instruction's location (a kernel cannot return a Status).
#ifndef WEFT_RUNTIME_CUDA_KERNELS_H
#define WEFT_RUNTIME_CUDA_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "runtime/artifact/gemm_epilogue.h"
#include "weft/tensor.h"

namespace weft::cuda {

// Layout.
/// shape/strides: up to 8 dimensions (the artifact's limit for a copy).
absl::Status CopyStrided(const void *src, int64_t src_offset, const std::vector<int64_t> &src_strides,
                         void *dst, int64_t dst_offset, const std::vector<int64_t> &dst_strides,
                         const std::vector<int64_t> &shape, size_t element_size, cudaStream_t stream);
absl::Status Cast(const void *src, DType src_type, void *dst, DType dst_type, int64_t n,
                  cudaStream_t stream);
/// The collectives' packing: `outer` rows of `parts` column slices of
/// `width_bytes` each, regrouped slice-major (Pack) or back (Unpack); see
/// runtime/executor/blocks.h.
absl::Status PackSlices(const void *src, void *dst, int64_t outer, int parts, size_t width_bytes,
                        cudaStream_t stream);
absl::Status UnpackSlices(const void *src, void *dst, int64_t outer, int parts, size_t width_bytes,
                          cudaStream_t stream);

// Reductions and normalisations (f32). ReduceKind: 0 sum, 1 max, 2 mean
// (cpu::ReduceKind's numbering).
absl::Status Reduce(const float *x, float *y, const std::vector<int64_t> &shape,
                    const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream);
absl::Status ReduceInt(const void *x, void *y, DType dtype, const std::vector<int64_t> &shape,
                       const std::vector<bool> &reduce_dim, int kind, cudaStream_t stream);
// Softmax: softmax.h.
absl::Status SoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer, int64_t dim,
                         int64_t inner, cudaStream_t stream);
absl::Status LayerNorm(const float *x, const float *gamma, const float *beta, float *y, int64_t rows,
                       int64_t d, float eps, cudaStream_t stream);
absl::Status LayerNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                           float *dgamma, float *dbeta, int64_t rows, int64_t d, float eps,
                           cudaStream_t stream);
absl::Status RmsNorm(const float *x, const float *gamma, float *y, int64_t rows, int64_t d,
                     float eps, cudaStream_t stream);
absl::Status RmsNormGrad(const float *x, const float *gamma, const float *dy, float *dx,
                         float *dgamma, int64_t rows, int64_t d, float eps, cudaStream_t stream);

// Embeddings and losses. `begin`/`total` as in the CPU kernels (a
// vocabulary shard: rows [begin, begin + vocab) of a table of `total`).
absl::Status Embedding(const float *table, int64_t vocab, int64_t d, const void *ids, DType id_type,
                       int64_t n, float *out, int64_t begin, int64_t total, int32_t *error,
                       cudaStream_t stream);
absl::Status EmbeddingGrad(const void *ids, DType id_type, const float *dy, float *dtable,
                           int64_t vocab, int64_t d, int64_t n, int64_t begin, int64_t total,
                           int32_t *error, cudaStream_t stream);
absl::Status CrossEntropy(const float *logits, const void *labels, DType label_type, int64_t rows,
                          int64_t classes, float *loss, int32_t *error, cudaStream_t stream);
absl::Status CrossEntropyGrad(const float *logits, const void *labels, DType label_type,
                              const float *dloss, float *dlogits, int64_t rows, int64_t classes,
                              int32_t *error, cudaStream_t stream);
absl::Status VocabShardStats(const float *logits, const void *labels, DType label_type,
                             const float *max, float *stats, int64_t rows, int64_t classes,
                             int64_t begin, int64_t total, int32_t *error, cudaStream_t stream);
absl::Status VocabShardStatsGrad(const float *logits, const void *labels, DType label_type,
                                 const float *max, const float *dstats, float *dlogits,
                                 int64_t rows, int64_t classes, int64_t begin, int64_t total,
                                 int32_t *error, cudaStream_t stream);

// A Matmul's epilogue over its product `out` [rows, n], in place: the
// fallback for a shape cuBLASLt cannot fuse (gemm.h), cpu::ApplyGemmEpilogue's twin.
absl::Status GemmEpilogue(artifact::GemmEpilogue kind, float *out, const float *bias,
                          const float *extra, float *pre_out, int64_t rows, int64_t n,
                          cudaStream_t stream);

// Attention: q [b, h, sq, dh], k [b, h, sk, dh], v [b, h, sk, dv].
absl::Status Attention(const float *q, const float *k, const float *v, float *out, int64_t b,
                       int64_t h, int64_t sq, int64_t sk, int64_t dh, int64_t dv, bool causal,
                       float scale, cudaStream_t stream);
absl::Status AttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                           float *dq, float *dk, float *dv, int64_t b, int64_t h, int64_t sq,
                           int64_t sk, int64_t dh, int64_t dvdim, bool causal, float scale,
                           cudaStream_t stream);

// Optimizers. `step` is read on the device (the artifact's step counter is
// a tensor), unlike the CPU kernels' float.
absl::Status SgdUpdate(const float *param, const float *grad, const float *buf, const float *step,
                       float *new_param, float *new_buf, int64_t n, float lr, float momentum,
                       float weight_decay, cudaStream_t stream);
absl::Status AdamwUpdate(const float *param, const float *grad, const float *m, const float *v,
                         const float *step, float *new_param, float *new_m, float *new_v, int64_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         cudaStream_t stream);

/// The reduction of `parts` device buffers of `count` elements each into
/// `out`, in buffer order (so the cuda-inprocess communicator's results are
/// the same on every rank): sum, average, max or min (ReduceKind of
/// communicator.h).
absl::Status ReduceBuffers(const void *const *parts, int num_parts, void *out, int64_t count,
                           DType dtype, int kind, cudaStream_t stream);

}  // namespace weft::cuda

#endif

// NumPy's .npy and .npz files: the input and output format of weft-run.
// Reads C-order arrays of float32, bfloat16 (as numpy's '<V2' or ml_dtypes'
// 'bfloat16' is not portable, so bf16 is read only from safetensors), float16,
// int32 and int64, little-endian; .npz entries may be stored or deflated.
// Writes C-order little-endian arrays; .npz is written uncompressed, like
// numpy.savez. bf16 tensors are written as float32, which holds them exactly.
#ifndef WEFT_RUNTIME_IO_NPY_H
#define WEFT_RUNTIME_IO_NPY_H

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/tensor.h"

namespace weft::io {

absl::StatusOr<Tensor> ReadNpy(const std::string &path);
absl::Status WriteNpy(const std::string &path, const Tensor &tensor);

/// Keys are the entry names without ".npy".
absl::StatusOr<std::map<std::string, Tensor>> ReadNpz(const std::string &path);
absl::Status WriteNpz(const std::string &path,
                      const std::map<std::string, Tensor> &tensors);

/// The same formats from and to memory (the files' whole bytes).
absl::StatusOr<Tensor> ParseNpy(std::string_view bytes, const std::string &what);
std::string SerializeNpy(const Tensor &tensor);

}  // namespace weft::io

#endif

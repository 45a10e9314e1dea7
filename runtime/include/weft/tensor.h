// weft::Tensor: a dense, row-major host tensor with a dtype and a shape.
// Copies share the bytes (a view); Clone() copies them.
#ifndef WEFT_TENSOR_H
#define WEFT_TENSOR_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weft {

enum class DType : uint8_t { kF32 = 0, kBF16 = 1, kF16 = 2, kI32 = 3, kI64 = 4 };

/// Bytes of one element.
size_t DTypeSize(DType dtype);
/// "f32", "bf16", "f16", "i32", "i64".
const char *DTypeName(DType dtype);
absl::StatusOr<DType> ParseDType(std::string_view name);

class Tensor {
 public:
  Tensor() = default;
  /// A zero-filled tensor that owns its bytes.
  Tensor(DType dtype, std::vector<int64_t> shape);
  /// A tensor that owns its bytes, left uninitialised: for buffers about to
  /// be overwritten, where zeroing hundreds of MB would cost.
  static Tensor Uninitialized(DType dtype, std::vector<int64_t> shape);
  /// A tensor over bytes owned elsewhere; `owner` keeps them alive.
  Tensor(DType dtype, std::vector<int64_t> shape, void *data,
         std::shared_ptr<void> owner);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t num_elements() const;
  size_t byte_size() const { return num_elements() * DTypeSize(dtype_); }
  bool empty() const { return data_ == nullptr; }

  void *data() { return data_; }
  const void *data() const { return data_; }
  template <typename T> T *data_as() { return static_cast<T *>(data_); }
  template <typename T> const T *data_as() const {
    return static_cast<const T *>(data_);
  }

  /// A deep copy.
  Tensor Clone() const;
  /// "f32[8, 32]".
  std::string DebugString() const;

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  void *data_ = nullptr;
  std::shared_ptr<void> owner_;
};

/// "[8, 32]".
std::string ShapeString(const std::vector<int64_t> &shape);

}  // namespace weft

#endif  // WEFT_TENSOR_H

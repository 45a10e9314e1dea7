#include "weft/tensor.h"

#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/poison.h"

namespace weft {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kBF16: return 2;
    case DType::kF16: return 2;
    case DType::kI32: return 4;
    case DType::kI64: return 8;
  }
  return 0;
}

const char *DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "f32";
    case DType::kBF16: return "bf16";
    case DType::kF16: return "f16";
    case DType::kI32: return "i32";
    case DType::kI64: return "i64";
  }
  return "?";
}

absl::StatusOr<DType> ParseDType(std::string_view name) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64})
    if (name == DTypeName(d)) return d;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dtype '", std::string(name), "'; expected f32, bf16, f16, i32 or i64"));
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  // operator new[] of an unsigned char array is aligned for any scalar type.
  size_t bytes = std::max<size_t>(byte_size(), 1);
  std::shared_ptr<unsigned char[]> buffer(new unsigned char[bytes]());
  data_ = buffer.get();
  owner_ = std::shared_ptr<void>(buffer, buffer.get());
}

Tensor Tensor::Uninitialized(DType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  std::shared_ptr<unsigned char[]> buffer(new unsigned char[std::max<size_t>(t.byte_size(), 1)]);
  t.data_ = buffer.get();
  t.owner_ = std::shared_ptr<void>(buffer, buffer.get());
  PoisonIfAsked(t.data_, t.byte_size());
  return t;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, void *data,
               std::shared_ptr<void> owner)
    : dtype_(dtype), shape_(std::move(shape)), data_(data), owner_(std::move(owner)) {}

int64_t Tensor::num_elements() const {
  return std::accumulate(shape_.begin(), shape_.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

Tensor Tensor::Clone() const {
  Tensor copy(dtype_, shape_);
  if (data_ != nullptr) std::memcpy(copy.data(), data_, byte_size());
  return copy;
}

std::string ShapeString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::string Tensor::DebugString() const {
  return absl::StrCat(DTypeName(dtype_), ShapeString(shape_));
}

}  // namespace weft

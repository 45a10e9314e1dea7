// safetensors reading and writing; see safetensors.h. Validation follows the
// reference implementation (huggingface/safetensors, safetensors/src/tensor.rs)
// except that gaps and overlaps between tensors are allowed. Tensors are
// copied out of the file's bytes so that their data is aligned.
#include "runtime/io/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/io/file_util.h"

namespace weft::io {
namespace {

using nlohmann::json;

constexpr const char *kMetadataKey = "__metadata__";

absl::Status Error(const std::string &path, const std::string &problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

const char *SafetensorsDType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kBF16: return "BF16";
    case DType::kF16: return "F16";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
  }
  return "?";
}

bool ParseSafetensorsDType(const std::string &name, DType *dtype) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64})
    if (name == SafetensorsDType(d)) {
      *dtype = d;
      return true;
    }
  return false;
}

// One header entry, e.g. {"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},
// into a tensor copied from `data`. Returns "" or what is wrong.
std::string ParseTensor(const json &info, std::string_view data, Tensor *tensor) {
  if (!info.is_object()) return "is not a JSON object";
  auto dtype_it = info.find("dtype");
  auto shape_it = info.find("shape");
  auto offsets_it = info.find("data_offsets");
  if (dtype_it == info.end() || shape_it == info.end() || offsets_it == info.end())
    return "lacks one of \"dtype\", \"shape\" and \"data_offsets\"";
  if (!dtype_it->is_string()) return "has a \"dtype\" that is not a string";
  DType dtype = DType::kF32;
  const std::string &dtype_name = dtype_it->get_ref<const std::string &>();
  if (!ParseSafetensorsDType(dtype_name, &dtype))
    return absl::StrCat("has dtype ", dtype_name,
                        ", which is not supported (expected F32, BF16, F16, I32 or I64)");
  if (!shape_it->is_array()) return "has a \"shape\" that is not an array";
  std::vector<int64_t> shape;
  for (const json &d : *shape_it) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return "has a \"shape\" that is not a list of non-negative integers";
    shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
  }
  int64_t count = internal::CheckedNumElements(shape, DTypeSize(dtype));
  if (count < 0) return absl::StrCat("has shape ", ShapeString(shape), ", which is too large");
  if (!offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
    return "has \"data_offsets\" that are not two non-negative integers";
  uint64_t begin = (*offsets_it)[0].get<uint64_t>(), end = (*offsets_it)[1].get<uint64_t>();
  if (begin > end || end > data.size())
    return absl::StrCat("has data_offsets [", begin, ", ", end, "] outside the data section of ",
                        data.size(), " bytes");
  uint64_t want = static_cast<uint64_t>(count) * DTypeSize(dtype);
  if (end - begin != want)
    return absl::StrCat("has data_offsets [", begin, ", ", end, "] spanning ", end - begin,
                        " bytes, but ", DTypeName(dtype), ShapeString(shape), " needs ", want);
  *tensor = Tensor(dtype, shape);
  if (want > 0) std::memcpy(tensor->data(), data.data() + begin, want);
  return "";
}

absl::StatusOr<Safetensors> ParseSafetensors(std::string_view bytes, const std::string &path) {
  if (bytes.size() < 8)
    return Error(path, absl::StrCat("too short for a safetensors file (", bytes.size(), " bytes)"));
  uint64_t header_len = internal::LoadLE(bytes.data(), 8);
  if (header_len > bytes.size() - 8)
    return Error(path, absl::StrCat("the header length ", header_len, " exceeds the ",
                                    bytes.size() - 8, " bytes after it"));
  std::string_view header_text = bytes.substr(8, header_len);
  std::string_view data = bytes.substr(8 + header_len);
  json header;
  try {
    header = json::parse(header_text.begin(), header_text.end());
  } catch (const json::exception &e) {
    return Error(path, absl::StrCat("the header is not valid JSON: ", e.what()));
  }
  if (!header.is_object()) return Error(path, "the header is not a JSON object");
  Safetensors file;
  for (const auto &[name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) return Error(path, "__metadata__ is not a JSON object");
      for (const auto &[key, text] : value.items()) {
        if (!text.is_string())
          return Error(path, absl::StrCat("__metadata__ entry '", key, "' is not a string"));
        file.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    Tensor tensor;
    std::string problem = ParseTensor(value, data, &tensor);
    if (!problem.empty()) return Error(path, absl::StrCat("tensor '", name, "' ", problem));
    file.tensors[name] = std::move(tensor);
  }
  return file;
}

}  // namespace

absl::StatusOr<Safetensors> ReadSafetensors(const std::string &path) {
  absl::StatusOr<std::string> bytes = internal::ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseSafetensors(*bytes, path);
}

// Like the reference writer: the header lists "__metadata__" (when there is
// any) and then each tensor's dtype, shape and data_offsets; it is padded with
// spaces to a multiple of 8 bytes; the data follows contiguously, here in
// name order.
absl::Status WriteSafetensors(const std::string &path, const Safetensors &file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;
  std::vector<std::string_view> pieces(2);  // the length and the header go first
  uint64_t offset = 0;
  for (const auto &[name, tensor] : file.tensors) {
    if (name == kMetadataKey) return Error(path, "a tensor may not be named __metadata__");
    if (tensor.empty()) return Error(path, absl::StrCat("tensor '", name, "' has no data"));
    if (internal::CheckedNumElements(tensor.shape(), DTypeSize(tensor.dtype())) < 0)
      return Error(path, absl::StrCat("tensor '", name, "' has an invalid shape ",
                                      ShapeString(tensor.shape())));
    uint64_t size = tensor.byte_size();
    header[name] = {{"dtype", SafetensorsDType(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + size}}};
    pieces.emplace_back(static_cast<const char *>(tensor.data()), size);
    offset += size;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception &e) {  // names that are not UTF-8
    return Error(path, absl::StrCat("cannot write the header: ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string length;
  internal::AppendLE(length, text.size(), 8);
  pieces[0] = length;
  pieces[1] = text;
  return internal::WriteFileAtomically(path, pieces);
}

}  // namespace weft::io

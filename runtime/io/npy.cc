// NumPy .npy and .npz files. The formats:
//   .npy: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   .npz: a zip archive of .npy entries (PKWARE APPNOTE.TXT).
// Everything read is bounds-checked against the bytes in hand: a malformed
// file gives an error naming the file (and entry), never a crash. Tensors are
// copied out of the file's bytes so that their data is aligned.
#include "runtime/io/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/io/file_util.h"

namespace weft::io {
namespace {

using internal::AppendLE;
using internal::LoadLE;

constexpr std::string_view kNpyMagic("\x93NUMPY", 6);

absl::Status Error(const std::string &what, const std::string &problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", problem));
}

// ---------------------------------------------------------------- .npy

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses the header, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Returns "" or what is wrong.
std::string ParseHeaderDict(std::string_view s, NpyHeader *h) {
  size_t i = 0;
  auto skip = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto eat = [&](char c) {
    skip();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  auto eat_word = [&](std::string_view w) {
    skip();
    if (s.substr(i, w.size()) != w) return false;
    i += w.size();
    return true;
  };
  auto string = [&](std::string *out) {
    skip();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return false;
    char quote = s[i++];
    size_t end = s.find(quote, i);
    if (end == std::string_view::npos) return false;
    *out = std::string(s.substr(i, end - i));
    i = end + 1;
    return true;
  };

  if (!eat('{')) return "the header is not a Python dict";
  bool has_descr = false, has_order = false, has_shape = false;
  while (!eat('}')) {
    std::string key;
    if (!string(&key) || !eat(':')) return "cannot parse the header dict";
    if (key == "descr") {
      skip();
      if (i < s.size() && s[i] == '[') return "structured dtypes are not supported";
      if (!string(&h->descr)) return "cannot parse 'descr' in the header";
      has_descr = true;
    } else if (key == "fortran_order") {
      if (eat_word("True"))
        h->fortran_order = true;
      else if (eat_word("False"))
        h->fortran_order = false;
      else
        return "cannot parse 'fortran_order' in the header";
      has_order = true;
    } else if (key == "shape") {
      if (!eat('(')) return "cannot parse 'shape' in the header";
      h->shape.clear();
      while (!eat(')')) {  // "()", "(3,)", "(2, 3)", "(2, 3,)"
        skip();
        if (i < s.size() && s[i] == '-') return "negative dimension in 'shape'";
        size_t start = i;
        int64_t d = 0;
        for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
          if (d > (INT64_MAX - 9) / 10) return "a dimension in 'shape' is too large";
          d = d * 10 + (s[i] - '0');
        }
        if (i == start) return "cannot parse 'shape' in the header";
        if (i < s.size() && s[i] == 'L') ++i;  // Python 2 wrote longs as "3L"
        h->shape.push_back(d);
        if (!eat(',')) {
          if (!eat(')')) return "cannot parse 'shape' in the header";
          break;
        }
      }
      has_shape = true;
    } else {
      return absl::StrCat("unexpected key '", key, "' in the header");
    }
    if (!eat(',')) {
      if (!eat('}')) return "cannot parse the header dict";
      break;
    }
  }
  skip();
  if (i != s.size()) return "unexpected text after the header dict";
  if (!has_descr || !has_order || !has_shape)
    return "the header lacks one of 'descr', 'fortran_order' and 'shape'";
  return "";
}

// '<f4' -> f32 and so on. '|' and '=' ("not applicable", "native") read as
// little-endian: numpy itself treats them as native, and hosts are little-endian.
std::string DTypeFromDescr(const std::string &descr, DType *dtype) {
  std::string kind = descr.size() == 3 ? descr.substr(1) : "";
  bool known = true;
  if (kind == "f4")
    *dtype = DType::kF32;
  else if (kind == "f2")
    *dtype = DType::kF16;
  else if (kind == "i4")
    *dtype = DType::kI32;
  else if (kind == "i8")
    *dtype = DType::kI64;
  else
    known = false;
  char order = descr.empty() ? '?' : descr[0];
  if (known && order == '>')
    return absl::StrCat("big-endian dtype '", descr, "' is not supported; save arr.astype('<", kind,
                        "') instead");
  if (known && (order == '<' || order == '|' || order == '=')) return "";
  return absl::StrCat("unsupported dtype '", descr,
                      "'; expected '<f4' (float32), '<f2' (float16), '<i4' (int32) or "
                      "'<i8' (int64)");
}

const char *Descr(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "<f4";
    case DType::kBF16: return "<f4";  // written widened to float32, see NpyData
    case DType::kF16: return "<f2";
    case DType::kI32: return "<i4";
    case DType::kI64: return "<i8";
  }
  return "?";
}

// The header (magic through the '\n'), padded like numpy's so that the data
// starts at a multiple of 64 bytes. Version 1.0 unless the header needs more
// than 65535 bytes (only with thousands of dimensions).
std::string SerializeNpyHeader(const Tensor &tensor) {
  const std::vector<int64_t> &shape = tensor.shape();
  std::string dict =
      absl::StrCat("{'descr': '", Descr(tensor.dtype()), "', 'fortran_order': False, 'shape': (",
                   absl::StrJoin(shape, ", "), shape.size() == 1 ? "," : "", "), }");
  for (int major : {1, 2}) {
    size_t prefix = major == 1 ? 10 : 12;  // magic, version, header length
    size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    size_t header_len = total - prefix;
    if (major == 1 && header_len > 0xffff) continue;
    std::string out(kNpyMagic);
    out.push_back(static_cast<char>(major));
    out.push_back(0);
    AppendLE(out, header_len, major == 1 ? 2 : 4);
    out += dict;
    out.append(header_len - dict.size() - 1, ' ');
    out.push_back('\n');
    return out;
  }
  return "";  // unreachable: version 2.0 takes headers up to 4 GiB
}

// The bytes to write after the header. numpy has no bfloat16, so bf16 is
// widened to float32, which holds every bf16 value exactly; `scratch` then
// owns the bytes. A tensor without data writes zeros.
std::string_view NpyData(const Tensor &tensor, std::string *scratch) {
  if (tensor.empty()) {
    size_t element = tensor.dtype() == DType::kBF16 ? 4 : DTypeSize(tensor.dtype());
    scratch->assign(tensor.num_elements() * element, '\0');
    return *scratch;
  }
  if (tensor.dtype() != DType::kBF16)
    return std::string_view(static_cast<const char *>(tensor.data()), tensor.byte_size());
  int64_t n = tensor.num_elements();
  scratch->resize(n * 4);
  const uint16_t *in = tensor.data_as<uint16_t>();
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(scratch->data() + 4 * i, &bits, 4);
  }
  return *scratch;
}

// ---------------------------------------------------------------- zip

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t local_offset = 0;
};

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  // zlib takes a 32-bit length; go in 1 GiB steps.
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef *>(bytes.data()), static_cast<uInt>(n)));
    bytes.remove_prefix(n);
  }
  return crc;
}

// Reads the end record (zip64 if present) and the central directory.
// Returns "" or what is wrong.
std::string ReadCentralDirectory(std::string_view zip, std::vector<ZipEntry> *entries) {
  if (zip.size() < 22) return "not a zip archive (too short for an end record)";
  // The end record is the last 22 bytes, before a comment of up to 64 KiB.
  size_t end = std::string_view::npos;
  size_t lowest = zip.size() - 22 > 0xffff ? zip.size() - 22 - 0xffff : 0;
  for (size_t p = zip.size() - 22 + 1; p-- > lowest;) {
    if (LoadLE(&zip[p], 4) == kEndSig && p + 22 + LoadLE(&zip[p + 20], 2) <= zip.size()) {
      end = p;
      break;
    }
  }
  if (end == std::string_view::npos) return "not a zip archive (no end of central directory)";
  const char *e = &zip[end];
  if (LoadLE(e + 4, 2) != 0 || LoadLE(e + 6, 2) != 0)
    return "multi-disk zip archives are not supported";
  uint64_t count = LoadLE(e + 10, 2);
  uint64_t cd_size = LoadLE(e + 12, 4);
  uint64_t cd_offset = LoadLE(e + 16, 4);
  // Zip64: a locator just before the end record points at the zip64 end
  // record, which holds the 64-bit count, size and offset.
  if (end >= 20 && LoadLE(&zip[end - 20], 4) == kZip64LocatorSig) {
    uint64_t z = LoadLE(&zip[end - 20 + 8], 8);
    if (z > zip.size() || zip.size() - z < 56 || LoadLE(&zip[z], 4) != kZip64EndSig)
      return "corrupt zip64 end of central directory";
    count = LoadLE(&zip[z + 32], 8);
    cd_size = LoadLE(&zip[z + 40], 8);
    cd_offset = LoadLE(&zip[z + 48], 8);
  }
  if (cd_offset > zip.size() || cd_size > zip.size() - cd_offset)
    return "the central directory lies outside the file";
  std::string_view cd = zip.substr(cd_offset, cd_size);
  size_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (cd.size() - p < 46 || LoadLE(&cd[p], 4) != kCentralSig) return "corrupt central directory";
    const char *c = &cd[p];
    ZipEntry entry;
    entry.flags = LoadLE(c + 8, 2);
    entry.method = LoadLE(c + 10, 2);
    entry.crc = LoadLE(c + 16, 4);
    entry.compressed_size = LoadLE(c + 20, 4);
    entry.size = LoadLE(c + 24, 4);
    size_t name_len = LoadLE(c + 28, 2), extra_len = LoadLE(c + 30, 2),
           comment_len = LoadLE(c + 32, 2);
    entry.local_offset = LoadLE(c + 42, 4);
    if (cd.size() - p - 46 < name_len + extra_len + comment_len) return "corrupt central directory";
    entry.name = std::string(cd.substr(p + 46, name_len));
    // A zip64 extra field (id 1) holds, in order, those of the sizes and the
    // offset whose 32-bit fields are all ones.
    std::string_view extra = cd.substr(p + 46 + name_len, extra_len);
    for (size_t x = 0; extra.size() - x >= 4;) {
      size_t id = LoadLE(&extra[x], 2), len = LoadLE(&extra[x + 2], 2);
      if (extra.size() - x - 4 < len) break;
      if (id == 1) {
        std::string_view field = extra.substr(x + 4, len);
        size_t f = 0;
        for (uint64_t *v : {&entry.size, &entry.compressed_size, &entry.local_offset}) {
          if (*v != 0xffffffffu) continue;
          if (field.size() - f < 8) return "corrupt zip64 extra field";
          *v = LoadLE(&field[f], 8);
          f += 8;
        }
      }
      x += 4 + len;
    }
    entries->push_back(std::move(entry));
    p += 46 + name_len + extra_len + comment_len;
  }
  return "";
}

// Raw deflate (no zlib header), as zip stores it, into exactly `size` bytes.
std::string Inflate(std::string_view in, uint64_t size, std::string *out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return "zlib inflateInit2 failed";
  out->assign(size, '\0');
  const size_t kStep = 1u << 30;  // zlib's lengths are 32-bit
  size_t in_pos = 0, out_pos = 0;
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data() + in_pos));
    zs.avail_in = static_cast<uInt>(std::min(in.size() - in_pos, kStep));
    zs.next_out = reinterpret_cast<Bytef *>(out->data() + out_pos);
    zs.avail_out = static_cast<uInt>(std::min(out->size() - out_pos, kStep));
    uInt avail_in = zs.avail_in, avail_out = zs.avail_out;
    ret = inflate(&zs, Z_NO_FLUSH);
    in_pos += avail_in - zs.avail_in;
    out_pos += avail_out - zs.avail_out;
    // Z_BUF_ERROR: no progress, the input ran out or the output is full.
    if (ret != Z_OK && ret != Z_STREAM_END) {
      std::string why = zs.msg != nullptr
                            ? zs.msg
                            : (in_pos == in.size() ? "truncated" : "larger than its declared size");
      inflateEnd(&zs);
      return absl::StrCat("corrupt deflate data (", why, ")");
    }
  }
  inflateEnd(&zs);
  if (out_pos != size)
    return absl::StrCat("inflates to ", out_pos, " bytes, not the declared ", size);
  return "";
}

// The bytes of one entry, checked against its CRC-32. Returns "" or what is wrong.
std::string ExtractEntry(std::string_view zip, const ZipEntry &entry, std::string *out) {
  if (entry.flags & 1) return "encrypted entries are not supported";
  if (entry.local_offset > zip.size() || zip.size() - entry.local_offset < 30 ||
      LoadLE(&zip[entry.local_offset], 4) != kLocalSig)
    return "corrupt local header";
  // The local header's own name and extra lengths place the data; its sizes
  // may be placeholders (numpy writes them as zip64), the central ones are not.
  const char *l = &zip[entry.local_offset];
  uint64_t start = entry.local_offset + 30 + LoadLE(l + 26, 2) + LoadLE(l + 28, 2);
  if (start > zip.size() || zip.size() - start < entry.compressed_size)
    return "the entry's data lies outside the file";
  std::string_view data = zip.substr(start, entry.compressed_size);
  if (entry.method == 0) {
    if (entry.size != entry.compressed_size) return "a stored entry whose sizes differ";
    out->assign(data);
  } else if (entry.method == 8) {
    // Deflate cannot expand more than 1032 times: a larger size is a lie,
    // and trusting it could allocate without bound.
    if (entry.size / 1032 > entry.compressed_size + 1)
      return absl::StrCat("implausible uncompressed size ", entry.size);
    std::string problem = Inflate(data, entry.size, out);
    if (!problem.empty()) return problem;
  } else {
    return absl::StrCat("compression method ", entry.method,
                        " is not supported (only stored and deflated)");
  }
  if (Crc32(0, *out) != entry.crc) return "CRC-32 mismatch (the data is corrupt)";
  return "";
}

absl::StatusOr<std::map<std::string, Tensor>> ParseNpz(std::string_view zip,
                                                       const std::string &path) {
  std::vector<ZipEntry> entries;
  std::string problem = ReadCentralDirectory(zip, &entries);
  if (!problem.empty()) return Error(path, problem);
  std::map<std::string, Tensor> tensors;
  for (const ZipEntry &entry : entries) {
    std::string what = absl::StrCat(path, ": entry '", entry.name, "'");
    std::string bytes;
    problem = ExtractEntry(zip, entry, &bytes);
    if (!problem.empty()) return Error(what, problem);
    absl::StatusOr<Tensor> tensor = ParseNpy(bytes, what);
    if (!tensor.ok()) return tensor.status();
    std::string key = entry.name;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (!tensors.emplace(key, *std::move(tensor)).second)
      return Error(what, "duplicate entry name");
  }
  return tensors;
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(std::string_view bytes, const std::string &what) {
  if (bytes.size() < 8 && kNpyMagic.substr(0, bytes.size()) == bytes)
    return Error(what, "truncated .npy header");
  if (bytes.substr(0, kNpyMagic.size()) != kNpyMagic)
    return Error(what, "not a .npy file (bad magic)");
  if (bytes.size() < 8) return Error(what, "truncated .npy header");
  int major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return Error(what, absl::StrCat("unsupported .npy version ", major, ".", minor));
  // 1.0 has a 2-byte header length; 2.0 a 4-byte one; 3.0 is 2.0 with a
  // UTF-8 header, which changes nothing for the keys read here.
  size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) return Error(what, "truncated .npy header");
  uint64_t header_len = LoadLE(&bytes[8], static_cast<int>(len_bytes));
  size_t data_start = 8 + len_bytes;
  if (header_len > bytes.size() - data_start)
    return Error(what, absl::StrCat("truncated .npy header (", header_len, " bytes declared, ",
                                    bytes.size() - data_start, " present)"));
  NpyHeader header;
  std::string problem = ParseHeaderDict(bytes.substr(data_start, header_len), &header);
  if (!problem.empty()) return Error(what, problem);
  data_start += header_len;
  if (header.fortran_order)
    return Error(what, "fortran_order=True is not supported; save np.ascontiguousarray(arr)");
  DType dtype = DType::kF32;
  problem = DTypeFromDescr(header.descr, &dtype);
  if (!problem.empty()) return Error(what, problem);
  int64_t count = internal::CheckedNumElements(header.shape, DTypeSize(dtype));
  if (count < 0)
    return Error(what, absl::StrCat("shape ", ShapeString(header.shape), " is too large"));
  uint64_t want = static_cast<uint64_t>(count) * DTypeSize(dtype);
  uint64_t have = bytes.size() - data_start;
  if (have != want)
    return Error(what, absl::StrCat(have < want ? "truncated data: " : "trailing data: ",
                                    DTypeName(dtype), ShapeString(header.shape), " needs ", want,
                                    " bytes, the file has ", have));
  Tensor tensor(dtype, header.shape);
  if (want > 0) std::memcpy(tensor.data(), bytes.data() + data_start, want);
  return tensor;
}

std::string SerializeNpy(const Tensor &tensor) {
  std::string scratch;
  std::string out = SerializeNpyHeader(tensor);
  out.append(NpyData(tensor, &scratch));
  return out;
}

absl::StatusOr<Tensor> ReadNpy(const std::string &path) {
  absl::StatusOr<std::string> bytes = internal::ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseNpy(*bytes, path);
}

absl::Status WriteNpy(const std::string &path, const Tensor &tensor) {
  if (tensor.empty()) return Error(path, "the tensor has no data");
  std::string header = SerializeNpyHeader(tensor), scratch;
  return internal::WriteFileAtomically(path, {header, NpyData(tensor, &scratch)});
}

absl::StatusOr<std::map<std::string, Tensor>> ReadNpz(const std::string &path) {
  absl::StatusOr<std::string> bytes = internal::ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseNpz(*bytes, path);
}

// Like numpy.savez: one stored (uncompressed) "<key>.npy" entry per tensor.
// Entries are written without zip64, so the archive must stay under 4 GiB.
absl::Status WriteNpz(const std::string &path, const std::map<std::string, Tensor> &tensors) {
  if (tensors.size() >= 0xffff) return Error(path, "too many entries for a zip without zip64");
  std::deque<std::string> owned;  // deque: growing it keeps earlier strings in place
  std::vector<std::string_view> pieces;
  std::string central;
  uint64_t offset = 0;
  for (const auto &[key, tensor] : tensors) {
    std::string name = key + ".npy";
    if (tensor.empty()) return Error(path, absl::StrCat("tensor '", key, "' has no data"));
    if (name.size() > 0xffff) return Error(path, absl::StrCat("the name '", key, "' is too long"));
    const std::string &header = owned.emplace_back(SerializeNpyHeader(tensor));
    std::string_view data = NpyData(tensor, &owned.emplace_back());
    uint64_t size = header.size() + data.size();
    if (size >= 0xffffffffu || offset >= 0xffffffffu)
      return Error(path, "archives over 4 GiB are not supported");
    uint32_t crc = Crc32(Crc32(0, header), data);
    // Bit 11: the name is UTF-8, so zip readers do not decode it as CP437.
    uint16_t flags =
        std::any_of(name.begin(), name.end(), [](char c) { return c & 0x80; }) ? 0x800 : 0;
    // Shared by the local header and the central entry: version needed 2.0,
    // flags, method 0 (stored), time 00:00, date 1980-01-01, crc, sizes, name length.
    std::string common;
    AppendLE(common, 20, 2);
    AppendLE(common, flags, 2);
    AppendLE(common, 0, 2);
    AppendLE(common, 0, 2);
    AppendLE(common, (0 << 9) | (1 << 5) | 1, 2);
    AppendLE(common, crc, 4);
    AppendLE(common, size, 4);
    AppendLE(common, size, 4);
    AppendLE(common, name.size(), 2);
    std::string &local = owned.emplace_back();
    AppendLE(local, kLocalSig, 4);
    local += common;
    AppendLE(local, 0, 2);  // extra length
    local += name;
    pieces.insert(pieces.end(), {local, header, data});

    AppendLE(central, kCentralSig, 4);
    AppendLE(central, (3 << 8) | 20, 2);  // made by: Unix, zip 2.0
    central += common;
    AppendLE(central, 0, 2);            // extra length
    AppendLE(central, 0, 2);            // comment length
    AppendLE(central, 0, 2);            // disk
    AppendLE(central, 0, 2);            // internal attributes
    AppendLE(central, 0644u << 16, 4);  // external: Unix mode rw-r--r--
    AppendLE(central, offset, 4);
    central += name;
    offset += local.size() + size;
  }
  if (offset + central.size() >= 0xffffffffu)
    return Error(path, "archives over 4 GiB are not supported");
  std::string end;
  AppendLE(end, kEndSig, 4);
  AppendLE(end, 0, 2);  // this disk
  AppendLE(end, 0, 2);  // the central directory's disk
  AppendLE(end, tensors.size(), 2);
  AppendLE(end, tensors.size(), 2);
  AppendLE(end, central.size(), 4);
  AppendLE(end, offset, 4);
  AppendLE(end, 0, 2);  // comment length
  pieces.push_back(central);
  pieces.push_back(end);
  return internal::WriteFileAtomically(path, pieces);
}

}  // namespace weft::io

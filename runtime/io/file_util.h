// Internal helpers shared by the .npy/.npz and safetensors readers and
// writers: whole-file reads with errno messages, atomic writes, and
// little-endian integer packing. Not part of the runtime's interface.
#ifndef WEFT_RUNTIME_IO_FILE_UTIL_H
#define WEFT_RUNTIME_IO_FILE_UTIL_H

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

// The formats are little-endian and tensors are copied byte for byte.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "weft's file I/O assumes a little-endian host");

namespace weft::io::internal {

// "cannot open 'x.npz': No such file or directory".
inline absl::Status ErrnoError(int error, const std::string &what, const std::string &path) {
  return absl::ErrnoToStatus(error, absl::StrCat("cannot ", what, " '", path, "'"));
}

inline absl::StatusOr<std::string> ReadWholeFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int error = errno;
    ::close(fd);
    return ErrnoError(error, "read", path);
  }
  // One spare byte so that a regular file is read to EOF without growing.
  std::string bytes(static_cast<size_t>(st.st_size > 0 ? st.st_size : 0) + 1, '\0');
  size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;  // e.g. EISDIR
      ::close(fd);
      return ErrnoError(error, "read", path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(used);
  return bytes;
}

// Writes the pieces to `path`.tmp, syncs, then renames over `path`: a crash
// leaves either the old file or the new one, never half of one.
inline absl::Status WriteFileAtomically(const std::string &path,
                                        const std::vector<std::string_view> &pieces) {
  std::string tmp = path + ".tmp";
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return ErrnoError(errno, "write", tmp);
  bool ok = true;
  for (std::string_view piece : pieces)
    if (!piece.empty() && std::fwrite(piece.data(), 1, piece.size(), f) != piece.size()) {
      ok = false;
      break;
    }
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  int error = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return ErrnoError(error, "write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno;
    std::remove(tmp.c_str());
    return ErrnoError(error, absl::StrCat("rename '", tmp, "' to"), path);
  }
  return absl::OkStatus();
}

// Little-endian loads; the caller has checked the bounds.
inline uint64_t LoadLE(const char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline void AppendLE(std::string &out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The element count of `shape`, or -1 if a dimension is negative or the byte
// size (count * element_size) would overflow int64. Zero dimensions are left
// out of the overflow check too, since Tensor multiplies them all in order.
inline int64_t CheckedNumElements(const std::vector<int64_t> &shape, size_t element_size) {
  int64_t count = 1;
  bool zero = false;
  int64_t limit = INT64_MAX / static_cast<int64_t>(element_size);
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) {
      zero = true;
      continue;
    }
    if (count > limit / d) return -1;
    count *= d;
  }
  return zero ? 0 : count;
}

}  // namespace weft::io::internal

#endif  // WEFT_RUNTIME_IO_FILE_UTIL_H

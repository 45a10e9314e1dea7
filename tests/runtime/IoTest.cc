// .npy, .npz and safetensors: round trips, the formats as numpy and the
// reference safetensors write and read them (io_oracle.py is the oracle), and
// malformed files, which must give errors and never crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/io/npy.h"
#include "runtime/io/safetensors.h"

namespace weft::io {
namespace {

using ::testing::HasSubstr;

std::string ReadBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string &path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), bytes.size());
}

bool Exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string Bytes(const Tensor &t) {
  return std::string(static_cast<const char *>(t.data()), t.byte_size());
}

// Removes the tests' directories when the process ends.
class TempDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const std::string &dir : dirs) std::filesystem::remove_all(dir);
  }
  std::vector<std::string> dirs;
};
TempDirs *const temp_dirs =
    static_cast<TempDirs *>(::testing::AddGlobalTestEnvironment(new TempDirs));

std::string MakeTempDir() {
  std::string dir = ::testing::TempDir() + "weft_io_XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  temp_dirs->dirs.push_back(dir);
  return dir;
}

// A tensor whose bytes are a pattern that differs with `seed`.
Tensor Pattern(DType dtype, std::vector<int64_t> shape, int seed) {
  Tensor t(dtype, std::move(shape));
  auto *bytes = static_cast<unsigned char *>(t.data());
  for (size_t i = 0; i < t.byte_size(); ++i) bytes[i] = static_cast<unsigned char>(i * 131 + seed);
  return t;
}

void ExpectSame(const Tensor &got, const Tensor &want, const std::string &what) {
  EXPECT_EQ(got.dtype(), want.dtype()) << what;
  EXPECT_EQ(got.shape(), want.shape()) << what;
  EXPECT_EQ(Bytes(got), Bytes(want)) << what;
}

std::string Message(const absl::Status &status) { return std::string(status.message()); }

const DType kAllDTypes[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kI32, DType::kI64};
const std::vector<std::vector<int64_t>> kShapes = {{2, 3},          {}, {0}, {3, 0, 2},
                                                   {1, 1, 1, 1, 1}, {7}};

// ------------------------------------------------------------ round trips

TEST(NpyTest, RoundTripsEveryDTypeAndShape) {
  int seed = 0;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kI32, DType::kI64})
    for (const auto &shape : kShapes) {
      Tensor t = Pattern(dtype, shape, ++seed);
      std::string bytes = SerializeNpy(t);
      // numpy aligns the data to 64 bytes; so do we.
      EXPECT_EQ((bytes.size() - t.byte_size()) % 64, 0u) << t.DebugString();
      absl::StatusOr<Tensor> back = ParseNpy(bytes, "mem");
      ASSERT_TRUE(back.ok()) << back.status();
      ExpectSame(*back, t, t.DebugString());
    }
}

TEST(NpyTest, WritesAndReadsFiles) {
  std::string path = MakeTempDir() + "/t.npy";
  Tensor t = Pattern(DType::kI64, {4, 2}, 3);
  ASSERT_TRUE(WriteNpy(path, t).ok());
  EXPECT_FALSE(Exists(path + ".tmp"));
  absl::StatusOr<Tensor> back = ReadNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(*back, t, path);
}

// numpy has no bfloat16: bf16 is written as the float32 values it stands for.
TEST(NpyTest, WritesBf16AsFloat32) {
  Tensor t(DType::kBF16, {3});
  uint16_t bits[] = {0x3f80, 0xc000, 0x4049};  // 1, -2, 3.140625
  std::memcpy(t.data(), bits, sizeof(bits));
  absl::StatusOr<Tensor> back = ParseNpy(SerializeNpy(t), "mem");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->dtype(), DType::kF32);
  EXPECT_EQ(back->shape(), std::vector<int64_t>{3});
  EXPECT_EQ(back->data_as<float>()[0], 1.0f);
  EXPECT_EQ(back->data_as<float>()[1], -2.0f);
  EXPECT_EQ(back->data_as<float>()[2], 3.140625f);
}

TEST(NpzTest, RoundTripsEveryDType) {
  std::string path = MakeTempDir() + "/t.npz";
  std::map<std::string, Tensor> tensors;
  int seed = 0;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kI32, DType::kI64})
    for (const auto &shape : kShapes) {
      Tensor t = Pattern(dtype, shape, ++seed);
      tensors[t.DebugString()] = t;
    }
  tensors["layer/0.weight"] = Pattern(DType::kF32, {2, 2}, 99);
  ASSERT_TRUE(WriteNpz(path, tensors).ok());
  EXPECT_FALSE(Exists(path + ".tmp"));
  absl::StatusOr<std::map<std::string, Tensor>> back = ReadNpz(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), tensors.size());
  for (const auto &[key, t] : tensors) {
    ASSERT_TRUE(back->count(key)) << key;
    ExpectSame(back->at(key), t, key);
  }
}

TEST(NpzTest, EmptyArchive) {
  std::string path = MakeTempDir() + "/empty.npz";
  ASSERT_TRUE(WriteNpz(path, {}).ok());
  absl::StatusOr<std::map<std::string, Tensor>> back = ReadNpz(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->empty());
}

TEST(SafetensorsTest, RoundTripsEveryDTypeAndShape) {
  std::string path = MakeTempDir() + "/t.safetensors";
  Safetensors file;
  int seed = 0;
  for (DType dtype : kAllDTypes)
    for (const auto &shape : kShapes) {
      Tensor t = Pattern(dtype, shape, ++seed);
      file.tensors[t.DebugString()] = t;
    }
  file.metadata = {{"format", "pt"}, {"step", "12"}};
  ASSERT_TRUE(WriteSafetensors(path, file).ok());
  EXPECT_FALSE(Exists(path + ".tmp"));
  absl::StatusOr<Safetensors> back = ReadSafetensors(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->metadata, file.metadata);
  ASSERT_EQ(back->tensors.size(), file.tensors.size());
  for (const auto &[name, t] : file.tensors) {
    ASSERT_TRUE(back->tensors.count(name)) << name;
    ExpectSame(back->tensors.at(name), t, name);
  }

  // The layout: a header padded with spaces to 8 bytes, then the data
  // contiguous in name order.
  std::string raw = ReadBytes(path);
  uint64_t n;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header = raw.substr(8, n);
  EXPECT_EQ(header.find_last_not_of(' ') + 1, header.find_last_of('}') + 1);
  nlohmann::json j = nlohmann::json::parse(header);
  uint64_t offset = 0;
  for (const auto &[name, t] : file.tensors) {
    EXPECT_EQ(j[name]["data_offsets"][0].get<uint64_t>(), offset) << name;
    offset += t.byte_size();
  }
  EXPECT_EQ(raw.size(), 8 + n + offset);
}

TEST(SafetensorsTest, EmptyFileHasNoMetadataKey) {
  std::string path = MakeTempDir() + "/empty.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {}).ok());
  std::string raw = ReadBytes(path);
  EXPECT_EQ(raw.substr(8), "{}      ");
  absl::StatusOr<Safetensors> back = ReadSafetensors(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->tensors.empty() && back->metadata.empty());
}

// ------------------------------------------------------------ file errors

TEST(IoErrorsTest, MissingFilesAndDirectoriesNameThePath) {
  std::string dir = MakeTempDir();
  std::string missing = dir + "/x.npz";
  EXPECT_EQ(Message(ReadNpz(missing).status()),
            "cannot open '" + missing + "': No such file or directory");
  EXPECT_EQ(Message(ReadNpy(dir + "/x.npy").status()),
            "cannot open '" + dir + "/x.npy': No such file or directory");
  EXPECT_EQ(Message(ReadSafetensors(dir + "/x.safetensors").status()),
            "cannot open '" + dir + "/x.safetensors': No such file or directory");
  EXPECT_EQ(Message(ReadNpy(dir).status()), "cannot read '" + dir + "': Is a directory");
  absl::Status written = WriteSafetensors(dir + "/no/such/dir/x.safetensors", {});
  EXPECT_EQ(Message(written),
            "cannot write '" + dir + "/no/such/dir/x.safetensors.tmp': No such file or directory");
  EXPECT_THAT(Message(WriteNpy(dir + "/t.npy", Tensor())), HasSubstr("no data"));
}

// ------------------------------------------------------------ malformed input

// Every proper prefix must be an error; every one-byte corruption must give
// an error or a tensor, never a crash (run under ASan to see the reads).
template <typename Read>
void TruncateAndCorrupt(const std::string &bytes, const std::string &path, Read read) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    WriteBytes(path, bytes.substr(0, n));
    auto result = read(path);
    EXPECT_FALSE(result.ok()) << path << " truncated to " << n << " bytes";
    if (!result.ok()) EXPECT_THAT(Message(result.status()), HasSubstr(path));
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] ^= 0xff;
    WriteBytes(path, corrupt);
    (void)read(path);
  }
}

TEST(NpyTest, MalformedHeaders) {
  auto npy = [](std::string dict, int major = 1) {
    std::string out("\x93NUMPY", 6);
    out.push_back(static_cast<char>(major));
    out.push_back(0);
    uint32_t len = dict.size();
    out.append(reinterpret_cast<const char *>(&len), major == 1 ? 2 : 4);
    return out + dict;
  };
  auto error = [](const std::string &bytes) { return Message(ParseNpy(bytes, "f.npy").status()); };
  std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  ASSERT_TRUE(ParseNpy(npy(f4) + std::string(8, '\0'), "f.npy").ok());
  EXPECT_EQ(error(npy(f4) + std::string(7, '\0')),
            "f.npy: truncated data: f32[2] needs 8 bytes, the file has 7");
  EXPECT_EQ(error(npy(f4) + std::string(9, '\0')),
            "f.npy: trailing data: f32[2] needs 8 bytes, the file has 9");
  EXPECT_EQ(error("PK\3\4 not npy"), "f.npy: not a .npy file (bad magic)");
  EXPECT_EQ(error(""), "f.npy: truncated .npy header");
  EXPECT_EQ(error(npy(f4, 4)), "f.npy: unsupported .npy version 4.0");
  EXPECT_THAT(error(npy(f4).substr(0, 30)), HasSubstr("truncated .npy header"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'shape': (2,), }")), HasSubstr("lacks one of"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}")),
              HasSubstr("unexpected key 'x'"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }")),
              HasSubstr("negative dimension"));
  EXPECT_THAT(
      error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }")),
      HasSubstr("too large"));
  EXPECT_THAT(
      error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")),
      HasSubstr("too large"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }")),
              HasSubstr("fortran_order"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk")),
              HasSubstr("unexpected text"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2")),
              HasSubstr("cannot parse 'shape'"));
  EXPECT_THAT(error(npy("{'descr': '<f4")), HasSubstr("cannot parse 'descr'"));
  EXPECT_THAT(error(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }")),
              HasSubstr("fortran_order=True is not supported"));
  EXPECT_THAT(error(npy("{'descr': '>i8', 'fortran_order': False, 'shape': (2, 2), }")),
              HasSubstr("big-endian dtype '>i8'"));
  EXPECT_THAT(error(npy("{'descr': '<V2', 'fortran_order': False, 'shape': (2, 2), }")),
              HasSubstr("unsupported dtype '<V2'"));
  // Python 2's longs, version 2.0, double quotes, no trailing comma.
  ASSERT_TRUE(
      ParseNpy(npy("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (1L, 2L)}", 2) +
                   std::string(8, '\0'),
               "f.npy")
          .ok());
}

TEST(NpyTest, TruncatedOrCorruptNeverCrashes) {
  std::string path = MakeTempDir() + "/bad.npy";
  TruncateAndCorrupt(SerializeNpy(Pattern(DType::kF16, {3, 5}, 1)), path, ReadNpy);
}

TEST(NpzTest, TruncatedOrCorruptNeverCrashes) {
  std::string dir = MakeTempDir();
  ASSERT_TRUE(WriteNpz(dir + "/good.npz",
                       {{"a", Pattern(DType::kI32, {2, 3}, 1)}, {"b", Pattern(DType::kF32, {}, 2)}})
                  .ok());
  TruncateAndCorrupt(ReadBytes(dir + "/good.npz"), dir + "/bad.npz", ReadNpz);
}

TEST(NpzTest, CorruptDataAndUnsupportedFeatures) {
  std::string dir = MakeTempDir();
  ASSERT_TRUE(WriteNpz(dir + "/good.npz", {{"a", Pattern(DType::kI32, {4}, 1)}}).ok());
  std::string good = ReadBytes(dir + "/good.npz");
  std::string path = dir + "/bad.npz";
  // The last data byte sits just before the central directory (46 + 5 bytes
  // for "a.npy") and the end record (22).
  std::string bad = good;
  bad[good.size() - 22 - 51 - 1] ^= 1;
  WriteBytes(path, bad);
  EXPECT_EQ(Message(ReadNpz(path).status()),
            path + ": entry 'a.npy': CRC-32 mismatch (the data is corrupt)");
  // General-purpose flag bit 0 in the central directory: encrypted.
  bad = good;
  bad[good.size() - 22 - 51 + 8] |= 1;
  WriteBytes(path, bad);
  EXPECT_THAT(Message(ReadNpz(path).status()), HasSubstr("encrypted"));
  // A method other than stored or deflated.
  bad = good;
  bad[good.size() - 22 - 51 + 10] = 14;  // LZMA
  WriteBytes(path, bad);
  EXPECT_THAT(Message(ReadNpz(path).status()), HasSubstr("compression method 14"));
  WriteBytes(path, "hello");
  EXPECT_THAT(Message(ReadNpz(path).status()), HasSubstr("not a zip archive"));
}

TEST(SafetensorsTest, MalformedHeaders) {
  std::string path = MakeTempDir() + "/bad.safetensors";
  // A file with this header and `data_bytes` zero bytes of data.
  auto error = [&](const std::string &header, size_t data_bytes = 8, int64_t length = -1) {
    uint64_t n = length >= 0 ? length : header.size();
    std::string bytes(reinterpret_cast<const char *>(&n), 8);
    WriteBytes(path, bytes + header + std::string(data_bytes, '\0'));
    return Message(ReadSafetensors(path).status());
  };
  std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error(ok), "");
  std::string after = std::to_string(ok.size() + 8);
  EXPECT_EQ(error(ok, 8, 1000),
            path + ": the header length 1000 exceeds the " + after + " bytes after it");
  EXPECT_EQ(error(ok, 8, INT64_MAX), path + ": the header length 9223372036854775807 exceeds the " +
                                         after + " bytes after it");
  WriteBytes(path, "abc");
  EXPECT_EQ(Message(ReadSafetensors(path).status()),
            path + ": too short for a safetensors file (3 bytes)");
  EXPECT_THAT(error("{\"t\": [1, 2"), HasSubstr(path + ": the header is not valid JSON"));
  EXPECT_THAT(error("[1, 2]"), HasSubstr("the header is not a JSON object"));
  EXPECT_EQ(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})"),
            path + ": tensor 't' has data_offsets [0, 16] outside the data section of 8 bytes");
  EXPECT_EQ(error(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})"),
            path + ": tensor 't' has data_offsets [0, 8] spanning 8 bytes, but f32[3] needs 12");
  EXPECT_THAT(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})"),
              HasSubstr("outside the data section"));
  EXPECT_THAT(error(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})"),
              HasSubstr("not a list of non-negative integers"));
  EXPECT_THAT(error(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})"),
              HasSubstr("not a list of non-negative integers"));
  EXPECT_THAT(
      error(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})"),
      HasSubstr("too large"));
  EXPECT_THAT(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})"),
              HasSubstr("not two non-negative integers"));
  EXPECT_THAT(error(R"({"t":{"shape":[2],"data_offsets":[0,8]}})"), HasSubstr("lacks one of"));
  EXPECT_THAT(error(R"({"t":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})"),
              HasSubstr("not a string"));
  EXPECT_THAT(error(R"({"t":[1]})"), HasSubstr("tensor 't' is not a JSON object"));
  EXPECT_EQ(error(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})"),
            path +
                ": tensor 't' has dtype F64, which is not supported (expected F32, BF16, F16, I32 "
                "or I64)");
  EXPECT_THAT(error(R"({"__metadata__":{"a":1}})"),
              HasSubstr("__metadata__ entry 'a' is not a string"));
  EXPECT_THAT(error(R"({"__metadata__":[]})"), HasSubstr("__metadata__ is not a JSON object"));
  // Gaps and shared bytes are allowed.
  EXPECT_EQ(error(R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},)"
                  R"("b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})"),
            "");
}

TEST(SafetensorsTest, TruncatedOrCorruptNeverCrashes) {
  std::string dir = MakeTempDir();
  Safetensors file;
  file.tensors = {{"a", Pattern(DType::kBF16, {2, 3}, 1)}, {"b", Pattern(DType::kI64, {}, 2)}};
  file.metadata = {{"k", "v"}};
  ASSERT_TRUE(WriteSafetensors(dir + "/good.safetensors", file).ok());
  TruncateAndCorrupt(ReadBytes(dir + "/good.safetensors"), dir + "/bad.safetensors",
                     ReadSafetensors);
}

// ------------------------------------------------------------ numpy as oracle

// io_oracle.py writes fixtures with numpy and the reference safetensors once
// per process; the tests read them and hand back what they write.
class NumpyOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir());
    std::string problem = RunOracle("make");
    if (!problem.empty()) {
      setup_error_ = new std::string(problem);
      return;
    }
    manifest_ = new nlohmann::json(nlohmann::json::parse(ReadBytes(*dir_ + "/manifest.json")));
  }

  void SetUp() override {
    if (setup_error_ != nullptr) GTEST_FAIL() << *setup_error_;
  }

  // Runs `io_oracle.py command dir`; returns "" or its exit status and output.
  static std::string RunOracle(const std::string &command) {
    std::string log = *dir_ + "/" + command + ".log";
    std::string line =
        "python3 '" WEFT_IO_ORACLE "' " + command + " '" + *dir_ + "' > '" + log + "' 2>&1";
    int status = std::system(line.c_str());
    if (status == 0) return "";
    return "io_oracle.py " + command + " failed with status " + std::to_string(status) +
           (command == "make" ? " (it needs python3 with numpy and safetensors: "
                                "scripts/install-deps.sh)"
                              : "") +
           ":\n" + ReadBytes(log);
  }

  static std::string In(const nlohmann::json &name) {
    return *dir_ + "/" + name.get<std::string>();
  }
  static std::string Out(const nlohmann::json &name) {
    std::string s = name.get<std::string>();
    return *dir_ + "/out/" + s.substr(s.rfind('/') + 1);
  }

  // The tensor the manifest describes: dtype, shape and the bytes of a .bin.
  static Tensor Expected(const nlohmann::json &info) {
    Tensor t(*ParseDType(info["dtype"].get<std::string>()),
             info["shape"].get<std::vector<int64_t>>());
    std::string bytes = ReadBytes(In(info["bin"]));
    EXPECT_EQ(bytes.size(), t.byte_size()) << info.dump();
    std::memcpy(t.data(), bytes.data(), std::min(bytes.size(), t.byte_size()));
    return t;
  }

  static std::string *dir_;
  static std::string *setup_error_;
  static nlohmann::json *manifest_;
};

std::string *NumpyOracleTest::dir_ = nullptr;
std::string *NumpyOracleTest::setup_error_ = nullptr;
nlohmann::json *NumpyOracleTest::manifest_ = nullptr;

// We read what numpy writes; numpy reads what we write back, and the files
// we build ourselves (made.*), bf16 and non-ASCII names included.
TEST_F(NumpyOracleTest, RoundTripsThroughNumpy) {
  const nlohmann::json &m = *manifest_;
  for (const auto &f : m["npy"]) {
    absl::StatusOr<Tensor> t = ReadNpy(In(f["file"]));
    ASSERT_TRUE(t.ok()) << t.status();
    ExpectSame(*t, Expected(f), In(f["file"]));
    ASSERT_TRUE(WriteNpy(Out(f["file"]), *t).ok());
  }
  for (const auto &f : m["npz"]) {
    absl::StatusOr<std::map<std::string, Tensor>> ts = ReadNpz(In(f["file"]));
    ASSERT_TRUE(ts.ok()) << ts.status();
    EXPECT_EQ(ts->size(), f["entries"].size()) << In(f["file"]);
    for (const auto &[key, info] : f["entries"].items()) {
      ASSERT_TRUE(ts->count(key)) << In(f["file"]) << ": " << key;
      ExpectSame(ts->at(key), Expected(info), In(f["file"]) + ": " + key);
    }
    ASSERT_TRUE(WriteNpz(Out(f["file"]), *ts).ok());
  }
  for (const auto &f : m["safetensors"]) {
    absl::StatusOr<Safetensors> st = ReadSafetensors(In(f["file"]));
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->metadata, (f["metadata"].get<std::map<std::string, std::string>>()));
    EXPECT_EQ(st->tensors.size(), f["tensors"].size()) << In(f["file"]);
    for (const auto &[name, info] : f["tensors"].items()) {
      ASSERT_TRUE(st->tensors.count(name)) << In(f["file"]) << ": " << name;
      ExpectSame(st->tensors.at(name), Expected(info), In(f["file"]) + ": " + name);
    }
    ASSERT_TRUE(WriteSafetensors(Out(f["file"]), *st).ok());
    // bf16 has no numpy dtype, so its bytes are compared here.
    absl::StatusOr<Safetensors> back = ReadSafetensors(Out(f["file"]));
    ASSERT_TRUE(back.ok()) << back.status();
    for (const auto &[name, t] : st->tensors) ExpectSame(back->tensors.at(name), t, name);
  }

  Tensor bf16(DType::kBF16, {2, 2});
  uint16_t bits[] = {0x3f80, 0xc000, 0x3f00, 0x4049};  // 1, -2, 0.5, 3.140625
  std::memcpy(bf16.data(), bits, sizeof(bits));
  Tensor scalar(DType::kI64, {});
  *scalar.data_as<int64_t>() = 7;
  Tensor ints(DType::kI32, {3});
  for (int i = 0; i < 3; ++i) ints.data_as<int32_t>()[i] = i + 1;
  std::map<std::string, Tensor> made = {{"bf16", bf16},
                                        {"scalar", scalar},
                                        {"empty", Tensor(DType::kF16, {0, 3})},
                                        {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", ints}};  // "ключ"
  ASSERT_TRUE(WriteNpy(*dir_ + "/out/made.npy", bf16).ok());
  ASSERT_TRUE(WriteNpz(*dir_ + "/out/made.npz", made).ok());
  ASSERT_TRUE(WriteSafetensors(*dir_ + "/out/made.safetensors",
                               {made, {{"format", "pt"}, {"source", "IoTest"}}})
                  .ok());
  std::string problem = RunOracle("check");
  EXPECT_EQ(problem, "");
}

TEST_F(NumpyOracleTest, RefusesWhatItDoesNotSupport) {
  for (const auto &f : (*manifest_)["errors"]) {
    std::string path = In(f["file"]), reader = f["reader"];
    absl::Status status = reader == "npy"   ? ReadNpy(path).status()
                          : reader == "npz" ? ReadNpz(path).status()
                                            : ReadSafetensors(path).status();
    EXPECT_FALSE(status.ok()) << path;
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(Message(status), HasSubstr(path + ": ")) << path;
    EXPECT_THAT(Message(status), HasSubstr(f["expect"].get<std::string>())) << path;
  }
}

TEST_F(NumpyOracleTest, NumpyFilesTruncatedOrCorruptNeverCrash) {
  std::string bad = *dir_ + "/bad";
  TruncateAndCorrupt(ReadBytes(*dir_ + "/in/float32_2x3.npy"), bad, ReadNpy);
  for (const char *npz : {"savez.npz", "savez_compressed.npz", "zip64.npz"})
    TruncateAndCorrupt(ReadBytes(*dir_ + "/in/" + npz), bad, ReadNpz);
  TruncateAndCorrupt(ReadBytes(*dir_ + "/in/model.safetensors"), bad, ReadSafetensors);
}

}  // namespace
}  // namespace weft::io

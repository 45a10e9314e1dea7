#include "compiler/target/cuda/Nvrtc.h"

#include <nvrtc.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace weft::cuda {
namespace {

struct ProgramDeleter {
  void operator()(nvrtcProgram p) const { nvrtcDestroyProgram(&p); }
};
using Program = std::unique_ptr<std::remove_pointer_t<nvrtcProgram>, ProgramDeleter>;

absl::Status Check(nvrtcResult r, const char *what) {
  if (r == NVRTC_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", nvrtcGetErrorString(r)));
}

// One compilation for `gpu_arch` (sm_NN: SASS; compute_NN: PTX); the output
// it produces, or the error with NVRTC's log.
absl::StatusOr<std::string> CompileFor(const std::string &source, const std::string &name,
                                       const std::string &gpu_arch, bool sass) {
  nvrtcProgram raw = nullptr;
  if (absl::Status s = Check(nvrtcCreateProgram(&raw, source.c_str(), name.c_str(), 0, nullptr,
                                                nullptr),
                             "nvrtcCreateProgram");
      !s.ok())
    return s;
  Program prog(raw);
  const std::string arch = "--gpu-architecture=" + gpu_arch;
  // No fast math: the kernels must match the CPU backend to 1e-5.
  const char *options[] = {arch.c_str(), "--std=c++17", "-default-device"};
  const nvrtcResult compiled = nvrtcCompileProgram(raw, 3, options);
  if (compiled != NVRTC_SUCCESS) {
    size_t size = 0;
    nvrtcGetProgramLogSize(raw, &size);
    std::string log(size, '\0');
    if (size) nvrtcGetProgramLog(raw, log.data());
    return absl::InternalError(absl::StrCat("NVRTC could not compile ", name, " for ", gpu_arch,
                                            ": ", nvrtcGetErrorString(compiled), "\n", log));
  }
  size_t size = 0;
  std::string out;
  if (sass) {
    if (absl::Status s = Check(nvrtcGetCUBINSize(raw, &size), "nvrtcGetCUBINSize"); !s.ok()) return s;
    out.resize(size);
    if (absl::Status s = Check(nvrtcGetCUBIN(raw, out.data()), "nvrtcGetCUBIN"); !s.ok()) return s;
  } else {
    if (absl::Status s = Check(nvrtcGetPTXSize(raw, &size), "nvrtcGetPTXSize"); !s.ok()) return s;
    out.resize(size);
    if (absl::Status s = Check(nvrtcGetPTX(raw, out.data()), "nvrtcGetPTX"); !s.ok()) return s;
    while (!out.empty() && out.back() == '\0') out.pop_back();
  }
  return out;
}

}  // namespace

bool HaveNvrtc() { return true; }

absl::StatusOr<CompiledModule> CompileCuda(const std::string &source, const std::string &name,
                                           const std::string &arch) {
  if (arch.rfind("sm_", 0) != 0)
    return absl::InvalidArgumentError(absl::StrCat("unknown CUDA architecture '", arch,
                                                   "'; expected sm_NN, e.g. sm_90"));
  CompiledModule m;
  m.arch = arch;
  auto cubin = CompileFor(source, name, arch, /*sass=*/true);
  if (!cubin.ok()) return cubin.status();
  m.cubin = std::move(*cubin);
  auto ptx = CompileFor(source, name, "compute_" + arch.substr(3), /*sass=*/false);
  if (!ptx.ok()) return ptx.status();
  m.ptx = std::move(*ptx);
  return m;
}

}  // namespace weft::cuda

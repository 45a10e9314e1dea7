#include "runtime/cuda/cublaslt.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft::cuda {
namespace {

// The soname of the toolkit the runtime was built with (CUDA 13).
constexpr const char *kLibrary = "libcublasLt.so.13";

template <typename Fn>
absl::Status Resolve(void *lib, const char *name, Fn *fn) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (*fn) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(kLibrary, " has no ", name));
}

absl::Status Load(CublasLt &lt) {
  void *lib = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);  // kept for the process's life
  if (!lib)
    return absl::UnavailableError(absl::StrCat("cannot load cuBLASLt: ", dlerror(),
                                               " (add the CUDA toolkit's lib64 to LD_LIBRARY_PATH)"));
  for (absl::Status s : {
           Resolve(lib, "cublasLtGetVersion", &lt.GetVersion),
           Resolve(lib, "cublasLtCreate", &lt.Create),
           Resolve(lib, "cublasLtDestroy", &lt.Destroy),
           Resolve(lib, "cublasLtMatmulDescCreate", &lt.MatmulDescCreate),
           Resolve(lib, "cublasLtMatmulDescDestroy", &lt.MatmulDescDestroy),
           Resolve(lib, "cublasLtMatmulDescSetAttribute", &lt.MatmulDescSetAttribute),
           Resolve(lib, "cublasLtMatrixLayoutCreate", &lt.MatrixLayoutCreate),
           Resolve(lib, "cublasLtMatrixLayoutDestroy", &lt.MatrixLayoutDestroy),
           Resolve(lib, "cublasLtMatrixLayoutSetAttribute", &lt.MatrixLayoutSetAttribute),
           Resolve(lib, "cublasLtMatmulPreferenceCreate", &lt.MatmulPreferenceCreate),
           Resolve(lib, "cublasLtMatmulPreferenceDestroy", &lt.MatmulPreferenceDestroy),
           Resolve(lib, "cublasLtMatmulPreferenceSetAttribute", &lt.MatmulPreferenceSetAttribute),
           Resolve(lib, "cublasLtMatmulAlgoGetHeuristic", &lt.MatmulAlgoGetHeuristic),
           Resolve(lib, "cublasLtMatmul", &lt.Matmul),
       })
    if (!s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<const CublasLt *> LoadCublasLt() {
  static CublasLt lt;
  static absl::Status loaded;
  static std::once_flag once;
  std::call_once(once, [] { loaded = Load(lt); });
  if (!loaded.ok()) return loaded;
  return &lt;
}

}  // namespace weft::cuda

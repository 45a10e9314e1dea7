# lit configuration of Weft's FileCheck tests: one folder per part (dialect,
# passes, tools, examples), mirroring the source tree.
import os
import shutil
import lit.formats

config.name = "Weft"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.weft_build_dir, "tests", "lit")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

config.environment["PATH"] = os.pathsep.join(
    [config.weft_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%weft_src", config.weft_src_dir))
config.substitutions.append(("%weft_bin", config.weft_bin_dir))
config.substitutions.append(("%examples", os.path.join(config.weft_src_dir, "examples")))

# Tests under mpirun (`REQUIRES: mpi`) run where the runtime is built with MPI
# and the launcher is installed; elsewhere lit reports them unsupported.
if getattr(config, "weft_mpi", "").upper() in ("TRUE", "ON", "1", "YES") and \
        config.mpiexec and shutil.which(config.mpiexec):
    config.available_features.add("mpi")
    config.substitutions.append(("%mpirun", config.mpiexec + " --allow-run-as-root --oversubscribe"))

# weftc --target=cuda needs NVRTC, there where the build found the CUDA
# toolkit (`REQUIRES: cuda-toolkit`); no GPU is needed to compile.
if getattr(config, "weft_cuda", "").upper() in ("TRUE", "ON", "1", "YES"):
    config.available_features.add("cuda-toolkit")

# Without an NVIDIA GPU (no /dev/nvidia0): the cuda backend's error path.
if not os.path.exists("/dev/nvidia0"):
    config.available_features.add("no-gpu")

# Fresh runtime memory is poisoned (NaN) so results nobody wrote fail loudly.
config.environment["WEFT_POISON_MEMORY"] = "1"

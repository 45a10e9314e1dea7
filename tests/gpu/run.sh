#!/usr/bin/env bash
# The GPU tests on a lent GPU machine, in two halves.
#
# Here (the build machine, no GPU):   bash tests/gpu/run.sh pack
#   builds the LLVM-free runtime and the GPU tests for sm_90 into build-gpu/
#   (CUDA on, MPI off: no Open MPI to carry), compiles the test artifacts
#   with the main build's weftc (build/, built first if missing), and packs the binaries and the shared libraries they need that the
#   GPU machine lacks (Abseil, OpenBLAS, ...) into .gpu/bundle.tar.xz.
#   .gpu/ is git-ignored; it is what the device tool must carry.
#
# There (with the device tool):       run(command="bash tests/gpu/run.sh test", carry=[".gpu"])
#   unpacks the bundle, finds the GPU machine's own CUDA, cuBLASLt and NCCL
#   libraries (too large to carry: 540 and 220 MB), and runs the GPU tests
#   with the weft-run --backend=cuda probe; logs and the gtest XML come back
#   under $OUT. It fails if any test fails or if no GPU was found.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bundle=.gpu/bundle.tar.xz

pack() {
  local build=${WEFT_GPU_BUILD_DIR:-$root/build-gpu}
  bash scripts/install-deps.sh
  [ -x /usr/local/cuda/bin/nvcc ] || { echo "run.sh pack: no nvcc in /usr/local/cuda" >&2; exit 1; }
  if [ ! -f "$build/build.ninja" ]; then
    cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_ENABLE_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DWEFT_ASAN_TESTS=OFF >/dev/null
  fi
  # The runtime's targets only: the compiler is not needed there.
  ninja -C "$build" weft-gpu-tests weft-runtime-tests weft-run
  local weftc=${WEFT_BUILD_DIR:-$root/build}/bin/weftc
  [ -x "$weftc" ] || bash scripts/build.sh
  rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib
  cp "$build"/bin/{weft-gpu-tests,weft-runtime-tests,weft-run} .gpu/bin/
  "$weftc" examples/gpt_tiny.mlir --mesh=dp=2 --train=adamw -o .gpu/gpu_dp2.weft
  "$weftc" examples/mlp.mlir --target=cuda -o .gpu/mlp.weft
  # ProgramTest's artifacts (the same as tests/gpu/CMakeLists.txt compiles).
  mkdir -p .gpu/programs
  local gpt=examples/gpt_tiny.mlir
  "$weftc" $gpt --train=adamw --lr=3e-3 --eps=1e-6 --target=cuda -o .gpu/programs/gpt_tiny.weft
  "$weftc" $gpt --train=adamw --lr=3e-3 --eps=1e-6 --target=cuda --mesh=dp=2,tp=2 -o .gpu/programs/gpt_tiny_dp2_tp2.weft
  "$weftc" $gpt --train=adamw --lr=3e-3 --eps=1e-6 --target=cuda --mesh=pp=2 --microbatches=2 -o .gpu/programs/gpt_tiny_pp2.weft
  "$weftc" $gpt --train=adamw --lr=3e-3 --eps=1e-6 -o .gpu/programs/gpt_tiny_cpu.weft
  # bench/gpu/gpt2_train's Weft peer: GPT-2 124M, AdamW as workload.py has it, bf16.
  "$weftc" --generate=gpt --layers=12 --hidden=768 --heads=12 --vocab=50257 --seq=1024 --batch=8 \
    -o .gpu/gpt2.mlir
  "$weftc" .gpu/gpt2.mlir --train=adamw --lr=6e-4 --beta1=0.9 --beta2=0.95 --eps=1e-8 \
    --weight-decay=0.1 --precision=bf16 --target=cuda -o .gpu/gpt2_train.weft
  rm .gpu/gpt2.mlir
  # Every shared library the binaries load, except the C and C++ runtimes
  # (the GPU machine's are newer, and its CUDA libraries may need them) and
  # CUDA's (the GPU machine's own, matching its driver).
  for bin in .gpu/bin/*; do ldd "$bin"; done | awk '/=> \// {print $1, $3}' | sort -u |
    while read -r name path; do
      case "$name" in
        libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libresolv.so*) ;;
        libstdc++.so*|libgcc_s.so*) ;;
        libcuda.so*|libcudart.so*|libcublas*.so*|libnccl.so*) ;;
        *) cp -L "$path" .gpu/lib/ ;;
      esac
    done
  tar -C .gpu -cJf "$bundle" bin lib gpu_dp2.weft mlp.weft programs gpt2_train.weft
  rm -rf .gpu/bin .gpu/lib .gpu/*.weft .gpu/programs
  grep -qx '/.gpu/' .gitignore 2>/dev/null || grep -qx '/.gpu/' .git/info/exclude 2>/dev/null ||
    echo '/.gpu/' >> .git/info/exclude
  echo "packed $(du -h "$bundle" | cut -f1) into $bundle (limit: 64 MiB with the working tree)"
  echo "carry: [\".gpu\"]"
  echo "device tool: run(command=\"bash tests/gpu/run.sh test\", carry=[\".gpu\"], timeout_s=600)"
}

# The directory holding `name` among the GPU machine's CUDA installations:
# the toolkit, the system's library folders, and the NVIDIA wheels beside
# PyTorch and JAX.
find_lib() {
  local name=$1 dir
  local roots=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu /usr/local/lib)
  for dir in /usr/local/cuda-*/lib64; do roots+=("$dir"); done
  for dir in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
    [ -d "$dir/nvidia" ] && roots+=("$dir/nvidia")
  done
  for dir in "${roots[@]}"; do
    [ -d "$dir" ] || continue
    found=$(find "$dir" -maxdepth 3 -name "$name" -print -quit 2>/dev/null)
    [ -n "$found" ] && { dirname "$found"; return 0; }
  done
  return 1
}

test_there() {
  [ -f "$bundle" ] || { echo "run.sh test: no $bundle; run 'tests/gpu/run.sh pack' here and carry .gpu" >&2; exit 1; }
  local out=${OUT:-$root/.gpu/out} work=/tmp/weft-gpu
  mkdir -p "$out"
  rm -rf "$work" && mkdir -p "$work"
  python3 -m tarfile -e "$bundle" "$work"
  local libpath=$work/lib missing=() dir
  for lib in libcudart.so.13 libcublasLt.so.13 libnccl.so.2; do
    if dir=$(find_lib "$lib"); then libpath=$libpath:$dir; else missing+=("$lib"); fi
  done
  [ ${#missing[@]} -eq 0 ] || { echo "run.sh test: not found on this machine: ${missing[*]}" >&2; exit 1; }
  export LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "== machine"
  nvidia-smi -L || true
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "== weft-run --backend=cuda: an MLP, then GPT-tiny for 5 steps on each backend"
  "$work/bin/weft-run" "$work/mlp.weft" --backend=cuda 2>&1 | tee "$out/backend.txt" || true
  for backend in cpu cuda; do
    "$work/bin/weft-run" "$work/programs/gpt_tiny.weft" --backend=$backend --steps=5 --seed=3 2>&1 |
      tail -3 | tee -a "$out/backend.txt" || true
  done
  echo "== GPU tests"
  set +e
  WEFT_POISON_MEMORY=1 WEFT_GPU_TEST_ARTIFACT=$work/gpu_dp2.weft WEFT_GPU_PROGRAM_DIR=$work/programs \
    "$work/bin/weft-gpu-tests" --gtest_output=xml:"$out/gpu-tests.xml" 2>&1 | tee "$out/gpu-tests.log"
  local rc=${PIPESTATUS[0]}
  set -e
  echo "== summary"
  local passed skipped failed
  passed=$(grep -c '^\[       OK \] .* ms)$' "$out/gpu-tests.log" || true)
  skipped=$(grep -c '^\[  SKIPPED \] .* ms)$' "$out/gpu-tests.log" || true)
  failed=$(grep -c '^\[  FAILED  \] .* ms)$' "$out/gpu-tests.log" || true)
  echo "passed $passed, skipped $skipped, failed $failed (exit $rc)"
  grep -A1 'Skipped$' "$out/gpu-tests.log" | grep -v -e '^--$' -e 'Skipped$' | sort | uniq -c || true
  # Skips are expected only for multi-GPU cases; a "no CUDA GPU" skip here means the machine has none.
  if grep -q "no CUDA GPU" "$out/gpu-tests.log"; then
    echo "run.sh test: the tests found no GPU on the GPU machine" >&2
    exit 1
  fi
  exit "$rc"
}

# There: a bundled binary with the GPU machine's libraries, e.g.
#   bash tests/gpu/run.sh exec weft-run /tmp/weft-gpu/gpt2_train.weft --backend=cuda
# (bench/gpu/gpt2_train/weft_peer.py runs it so). Unpacks into /tmp/weft-gpu once.
exec_there() {
  [ -f "$bundle" ] || { echo "run.sh exec: no $bundle; run 'tests/gpu/run.sh pack' here and carry .gpu" >&2; exit 1; }
  local work=/tmp/weft-gpu libpath dir
  if [ ! -x "$work/bin/weft-run" ]; then
    rm -rf "$work" && mkdir -p "$work"
    python3 -m tarfile -e "$bundle" "$work"
  fi
  libpath=$work/lib
  for lib in libcudart.so.13 libcublasLt.so.13 libnccl.so.2; do
    dir=$(find_lib "$lib") || { echo "run.sh exec: $lib not found on this machine" >&2; exit 1; }
    libpath=$libpath:$dir
  done
  local bin=$1; shift
  LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec "$work/bin/$bin" "$@"
}

case "${1:-}" in
  pack) pack ;;
  test) test_there ;;
  exec) shift; exec_there "$@" ;;
  *) echo "usage: tests/gpu/run.sh pack   (here: build and pack .gpu/)" >&2
     echo "       tests/gpu/run.sh exec BIN ARGS...   (there: a bundled binary)" >&2
     echo "       tests/gpu/run.sh test   (on the GPU machine, with .gpu carried)" >&2
     exit 2 ;;
esac

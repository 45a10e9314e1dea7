#!/usr/bin/env bash
# Installs every Debian and PyPI package that Weft's build and tests need on a fresh Debian 12.
# Idempotent: it checks what is present first and is silent when there is nothing to do.
set -euo pipefail

DEBS=(
  cmake ninja-build g++ ccache pkg-config
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools   # MLIR 22; mlir-tblgen; FileCheck
  libabsl-dev libgtest-dev libflatbuffers-dev flatbuffers-compiler
  libopenblas-dev nlohmann-json3-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev libedit-dev libxml2-dev
  libopenmpi-dev openmpi-bin                               # the mpi communicator
  graphviz                                                 # checks weft-dump --format=dot
  coinor-libcbc-dev                                        # the planner's sharding ILP (CBC)
  python3 python3-pip
)
PIPS=(numpy safetensors "jax[cpu]")   # safetensors: IoTest's reference; jax: the training oracle

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py_missing=()
for p in "${PIPS[@]}"; do   # the distribution's name without extras: jax[cpu] -> jax
  python3 -c "import importlib.metadata as m; m.version('${p%%\[*}')" 2>/dev/null || py_missing+=("$p")
done
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "install-deps: pip install ${py_missing[*]}"
  # Debian's own python3 is "externally managed" (PEP 668); these are test
  # oracles, installed for the user running the tests.
  export PIP_BREAK_SYSTEM_PACKAGES=1
  python3 -m pip install -q --disable-pip-version-check "${py_missing[@]}" 2>&1 \
    | { grep -v "Running pip as the 'root'" || true; }
fi

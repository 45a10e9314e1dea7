#!/usr/bin/env bash
# bench/cpu_train: builds Weft, installs the peers (PyTorch, JAX) if missing,
# and runs the comparison. Usage: bench/cpu_train/run.sh [bench.py flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/build.sh" >/dev/null
python3 -c "import torch, jax" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "jax[cpu]" torch
exec python3 "$root/bench/cpu_train/bench.py" --bin "$root/build/bin" "$@"

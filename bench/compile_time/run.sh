#!/usr/bin/env bash
# bench/compile_time: builds Weft, installs JAX if missing, and times
# compiling GPT-2 124M for training. Usage: bench/compile_time/run.sh [bench.py flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/build.sh" >/dev/null
python3 -c "import jax" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "jax[cpu]"
exec python3 "$root/bench/compile_time/bench.py" --bin "$root/build/bin" "$@"

#!/usr/bin/env bash
# bench/plan_time: builds Weft and times planning GPT-3 175B on 1024 GPUs and
# the 1T model on 3072. Usage: bench/plan_time/run.sh [--reps N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/build.sh" >/dev/null
exec python3 "$root/bench/plan_time/bench.py" --bin "$root/build/bin" "$@"

#!/usr/bin/env python3
"""The GPU benchmark's workload at its smoke size, on the CPU: Weft's peer
(bench/gpu/gpt2_train/weft_peer.py: weftc --precision=bf16 --target=cuda
--train=adamw, run on the CPU backend) and JAX's (jax_peer.py: jax.jit of
the same GPT step, bf16 matmuls with f32 accumulation, AdamW written out)
train 25 steps from the same initial values and batch; their losses must
agree to bf16 rounding. This is the whole training step (every GPT op, its
gradients and AdamW with the benchmark's settings) against an independent
implementation, and it keeps the benchmark's Weft peer working."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "bench", "gpu", "gpt2_train")
sys.path.insert(0, HERE)
from checks import run_checks  # noqa: E402


BIN = sys.argv[sys.argv.index("--bin") + 1] if "--bin" in sys.argv else None


def peer(script):
    extra = ["--bin", BIN] if BIN and script == "weft_peer.py" else []
    r = subprocess.run([sys.executable, os.path.join(BENCH, script), "--smoke", *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def check_weft_and_jax_train_the_same_gpt():
    weft, jax = peer("weft_peer.py"), peer("jax_peer.py")
    for key in ("loss_first", "loss_last"):
        assert abs(weft[key] - jax[key]) < 2e-3, (key, weft[key], jax[key])
    # Training moved the loss: the comparison is not of two untouched models.
    assert weft["loss_last"] < weft["loss_first"] - 1.0, weft
    print(f"  weft {weft['loss_first']:.5f} -> {weft['loss_last']:.5f}, "
          f"jax {jax['loss_first']:.5f} -> {jax['loss_last']:.5f}")


if __name__ == "__main__":
    sys.exit(run_checks(dict(globals()), width=44))

#!/usr/bin/env python3
"""Weft's peer: the same GPT-2 training step as the others (workload.py:
shape, AdamW settings, initial values, batch), compiled by weftc
(`--train=adamw --precision=bf16 --target=cuda`) and run by
`weft-run --backend=cuda`, which times every step to its end on the device
(weft-run synchronises before a step returns). Warm-up steps are dropped and
the median of the rest is reported, as the other peers do.

Where the tools come from:
  - here (a build in build/): weftc compiles the model, weft-run runs it;
  - on the lent GPU machine: `tests/gpu/run.sh pack` (run here) put weft-run
    and this benchmark's artifact (gpt2_train.weft) in .gpu/bundle.tar.xz,
    and `tests/gpu/run.sh exec` runs the bundled weft-run with its libraries.
--smoke: the tiny size on the CPU backend (checks that the peer works).

Peak memory on the GPU is weft-run's measured device peak (its allocations,
the stream-ordered scratch's high-water mark, cuBLASLt's workspace; not the
CUDA context, which the other peers' allocator peaks also leave out); on the
CPU (--smoke) the compiler's plan.

Usage: weft_peer.py [--smoke] [--out results.jsonl] [--warmup 5] [--steps 20] [--bin build/bin]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(repo, "tests", "e2e"))
import timing  # noqa: E402
import workload  # noqa: E402
import safetensors_np  # noqa: E402

def extra_args(ap):
    ap.add_argument("--bin", default=os.path.join(repo, "build", "bin"),
                    help="where weftc and weft-run are (here)")
    ap.add_argument("--fast-bf16-gemm", action="store_true",
                    help="WEFT_CUDA_BF16_GEMM=fast: cuBLAS down-converts f32 operands inside the "
                         "GEMM instead of Weft rounding them into bf16 copies first, and "
                         "attention's products with the probabilities run on tensor cores "
                         "(autocast's numbers rather than the CPU backend's)")


a = timing.peer_args(__doc__, extra=extra_args)
c = workload.SMOKE if a.smoke else workload.FULL


def weft_name(name):
    """workload.py's parameter names -> weftc --generate=gpt's."""
    fixed = {"wte": "wte", "wpe": "wpe", "lnf_g": "ln_f.weight", "lnf_b": "ln_f.bias"}
    if name in fixed:
        return fixed[name]
    layer, rest = name.split(".", 1)
    kind = {"w": "weight", "b": "bias", "g": "weight"}
    if rest.endswith(("_g", "_b")):  # ln1_g -> ln_1.weight
        norm, part = rest[:-2], rest[-1]
        return f"h.{layer}.ln_{norm[-1]}.{kind[part]}"
    op, part = rest.split(".")
    where = f"attn.{op}_proj" if op in "qkvo" else f"mlp.{op}"
    return f"h.{layer}.{where}.{kind[part]}"


work = tempfile.mkdtemp(prefix="weft-peer-")
bundle = os.path.join(repo, ".gpu", "bundle.tar.xz")
local_weftc = os.path.join(a.bin, "weftc")
if os.path.exists(local_weftc):
    weft_run = [os.path.join(a.bin, "weft-run")]
    model = os.path.join(work, "gpt2.mlir")
    artifact = os.path.join(work, "gpt2_train.weft")
    subprocess.run([local_weftc, "--generate=gpt", f"--layers={c['layers']}", f"--hidden={c['hidden']}",
                    f"--heads={c['heads']}", f"--vocab={c['vocab']}", f"--seq={c['seq']}",
                    f"--batch={c['batch']}", "-o", model], check=True)
    opt = workload.ADAMW
    subprocess.run([local_weftc, model, "--train=adamw", f"--lr={opt['lr']}", f"--beta1={opt['b1']}",
                    f"--beta2={opt['b2']}", f"--eps={opt['eps']}", f"--weight-decay={opt['wd']}",
                    "--precision=bf16", "--target=cuda", "-o", artifact], check=True)
elif os.path.exists(bundle):
    weft_run = ["bash", os.path.join(repo, "tests", "gpu", "run.sh"), "exec", "weft-run"]
    artifact = "/tmp/weft-gpu/gpt2_train.weft"  # where run.sh exec unpacks the bundle
else:
    sys.exit(f"weft_peer: neither {local_weftc} (build here) nor .gpu/bundle.tar.xz "
             "(tests/gpu/run.sh pack) exists")

weights = os.path.join(work, "init.safetensors")
safetensors_np.save(weights, {weft_name(k): v for k, v in workload.init(c).items()})
tokens, labels = workload.batch(c)
import numpy as np  # noqa: E402
inputs = os.path.join(work, "batch.npz")
np.savez(inputs, tokens=tokens, labels=labels)
report = os.path.join(work, "report.json")
backend = "cpu" if a.smoke else "cuda"
cmd = weft_run + [artifact, f"--backend={backend}", f"--weights={weights}", f"--inputs={inputs}",
                  f"--steps={a.warmup + a.steps}", f"--report={report}"]
print(" ".join(cmd), flush=True)
env = dict(os.environ, WEFT_CUDA_BF16_GEMM="fast") if a.fast_bf16_gemm else None
subprocess.run(cmd, check=True, env=env)
r = json.load(open(report))
times = r["step_s"][a.warmup:]
step_s = statistics.median(times)
device = "cpu"
if not a.smoke:
    q = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                       capture_output=True, text=True)
    device = q.stdout.strip().splitlines()[0] if q.returncode == 0 and q.stdout.strip() else "?"
timing.emit(a.out, {
    "peer": "weft_fast_bf16_gemm" if a.fast_bf16_gemm else "weft", "device": device, "version": "weft " + backend, "config": c,
    "step_s": step_s, "step_times_s": times, "tokens_per_s": workload.tokens_per_step(c) / step_s,
    "flops_per_step": workload.train_flops(c),
    "peak_bytes": r.get("device_peak_bytes") or r["peak_bytes"],
    "peak_is_plan": not r.get("device_peak_bytes"), "loss_first": r["losses"][0], "loss_last": r["losses"][-1],
})

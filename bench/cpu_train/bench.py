#!/usr/bin/env python3
"""GPT-2-small-shaped training step on the CPU: Weft against PyTorch eager
(loss.backward + torch.optim.AdamW) and JAX jit (value_and_grad + a
hand-written AdamW), same shapes, same threads, same run.

Usage: python3 bench/cpu_train/bench.py --bin build/bin [--layers 4] [--batch 4] [--seq 256] [--reps 3]
"""
import json, math, os, platform, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import best_of, gpt_shapes, jax_gpt_train_step, parse_args  # noqa: E402

a = parse_args(__doc__, layers=4, batch=4)
import numpy as np

D, H, L, V, B, S = a.hidden, a.heads, a.layers, a.vocab, a.batch, a.seq
F, Dh = 4 * D, a.hidden // a.heads
results = {}




# --- Weft --------------------------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    mlir, weft, report = (os.path.join(tmp, n) for n in ("gpt.mlir", "gpt.weft", "r.json"))
    subprocess.run([f"{a.bin}/weftc", "--generate=gpt", f"--layers={L}", f"--hidden={D}", f"--heads={H}",
                    f"--vocab={V}", f"--seq={S}", f"--batch={B}", "-o", mlir], check=True)
    subprocess.run([f"{a.bin}/weftc", mlir, "--train=adamw", "--lr=1e-4", "-o", weft], check=True)
    subprocess.run([f"{a.bin}/weft-run", weft, f"--steps={a.reps + 1}", f"--threads={a.threads}",
                    f"--report={report}"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = json.load(open(report))
    results["weft"] = min(r["step_s"][1:])
    weft_peak = r["peak_bytes"]
    fwd_flops = json.loads(subprocess.run([f"{a.bin}/weftc", mlir, "--stats", "--json"], check=True,
                                          capture_output=True, text=True).stdout)["forward_flops"]
flops = 3 * fwd_flops  # forward + backward, the usual 3x

rng = np.random.default_rng(0)
def init(name, shape):
    if name.endswith(".w") or name in ("wte", "wpe"):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)
    return (np.ones if name.endswith("_g") else np.zeros)(shape, np.float32)
params = {name: init(name, shape) for name, shape in gpt_shapes(L, D, V, S).items()}
tokens = rng.integers(0, V, (B, S)).astype(np.int64)
labels = rng.integers(0, V, (B, S)).astype(np.int64)

# --- PyTorch eager -------------------------------------------------------------
import torch
import torch.nn.functional as Fn
torch.set_num_threads(a.threads)
tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
opt = torch.optim.AdamW(tp.values(), lr=1e-4, weight_decay=0.01)
tt, tl = torch.from_numpy(tokens), torch.from_numpy(labels)
mask = torch.full((S, S), float("-inf")).triu(1)

def torch_loss():
    h = tp["wte"][tt] + tp["wpe"]
    for l in range(L):
        x = Fn.layer_norm(h, (D,), tp[f"{l}.ln1_g"], tp[f"{l}.ln1_b"])
        q, k, v = ((x @ tp[f"{l}.{n}.w"] + tp[f"{l}.{n}.b"]).view(B, S, H, Dh).transpose(1, 2) for n in "qkv")
        y = ((q @ k.transpose(-1, -2)) / math.sqrt(Dh) + mask).softmax(-1) @ v
        h = h + y.transpose(1, 2).reshape(B, S, D) @ tp[f"{l}.o.w"] + tp[f"{l}.o.b"]
        x = Fn.layer_norm(h, (D,), tp[f"{l}.ln2_g"], tp[f"{l}.ln2_b"])
        x = Fn.gelu(x @ tp[f"{l}.fc.w"] + tp[f"{l}.fc.b"], approximate="tanh")
        h = h + x @ tp[f"{l}.proj.w"] + tp[f"{l}.proj.b"]
    logits = Fn.layer_norm(h, (D,), tp["lnf_g"], tp["lnf_b"]) @ tp["wte"].T
    return Fn.cross_entropy(logits.view(-1, V), tl.view(-1))

def torch_step():
    opt.zero_grad(set_to_none=True)
    loss = torch_loss()
    loss.backward()
    opt.step()
results["pytorch_eager"] = best_of(torch_step, a.reps)

# --- JAX jit --------------------------------------------------------------------
import jax, jax.numpy as jnp
jp = {k: jnp.asarray(v) for k, v in params.items()}
jm = {k: jnp.zeros_like(v) for k, v in jp.items()}
jv = {k: jnp.zeros_like(v) for k, v in jp.items()}
jt, jl = jnp.asarray(tokens), jnp.asarray(labels)
jax_step = jax.jit(jax_gpt_train_step(L, B, S, H, D))

state = [jp, jm, jv]
def jax_run():
    p, m, v, loss = jax_step(*state, 1.0, jt, jl)
    jax.block_until_ready(loss)
    state[:] = [p, m, v]
results["jax_jit"] = best_of(jax_run, a.reps)

print(f"GPT-2-small-shaped train step (forward, backward, AdamW): layers={L} hidden={D} heads={H} "
      f"vocab={V} batch={B} seq={S}, {flops / 1e9:.0f} GFLOP (3x forward), {a.threads} threads on "
      f"{platform.processor() or platform.machine()}")
for name, s in results.items():
    print(f"  {name:14s} {s * 1e3:9.1f} ms  {flops / s / 1e9:7.1f} GFLOP/s  {B * S / s:8.0f} tokens/s")
print(f"  weft / pytorch_eager = {results['weft'] / results['pytorch_eager']:.2f}x time, "
      f"weft / jax_jit = {results['weft'] / results['jax_jit']:.2f}x time; weft peak memory {weft_peak / 1e6:.0f} MB")
print(f"  versions: torch {torch.__version__}, jax {jax.__version__}")
if a.json:
    json.dump({"seconds": results, "flops": flops, "threads": a.threads, "weft_peak_bytes": weft_peak},
              open(a.json, "w"), indent=2)

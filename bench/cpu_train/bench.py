#!/usr/bin/env python3
"""GPT-2-small-shaped training step on the CPU: Weft against PyTorch eager
(loss.backward + torch.optim.AdamW) and JAX jit (value_and_grad + a
hand-written AdamW), same shapes, same threads, same run.

Usage: python3 bench/cpu_train/bench.py --bin build/bin [--layers 4] [--batch 4] [--seq 256] [--reps 3]
"""
import json, math, os, platform, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import best_of, parse_args  # noqa: E402

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
def w(*shape): return (rng.standard_normal(shape) * 0.02).astype(np.float32)
def ones(n): return np.ones(n, np.float32)
def zeros(n): return np.zeros(n, np.float32)
params = {"wte": w(V, D), "wpe": w(S, D), "lnf_g": ones(D), "lnf_b": zeros(D)}
for l in range(L):
    for n in "qkvo":
        params[f"{l}.{n}.w"], params[f"{l}.{n}.b"] = w(D, D), zeros(D)
    params[f"{l}.fc.w"], params[f"{l}.fc.b"] = w(D, F), zeros(F)
    params[f"{l}.proj.w"], params[f"{l}.proj.b"] = w(F, D), zeros(D)
    for n in ("ln1", "ln2"):
        params[f"{l}.{n}_g"], params[f"{l}.{n}_b"] = ones(D), zeros(D)
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

def ln(x, g, b):
    m = x.mean(-1, keepdims=True); var = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(var + 1e-5) * g + b

def jax_loss(p):
    h = p["wte"][jt] + p["wpe"]
    causal = jnp.tril(jnp.ones((S, S), bool))
    for l in range(L):
        x = ln(h, p[f"{l}.ln1_g"], p[f"{l}.ln1_b"])
        q, k, v = ((x @ p[f"{l}.{n}.w"] + p[f"{l}.{n}.b"]).reshape(B, S, H, Dh).transpose(0, 2, 1, 3) for n in "qkv")
        s = jnp.where(causal, q @ k.transpose(0, 1, 3, 2) / math.sqrt(Dh), -jnp.inf)
        y = (jax.nn.softmax(s, -1) @ v).transpose(0, 2, 1, 3).reshape(B, S, D)
        h = h + y @ p[f"{l}.o.w"] + p[f"{l}.o.b"]
        x = jax.nn.gelu(ln(h, p[f"{l}.ln2_g"], p[f"{l}.ln2_b"]) @ p[f"{l}.fc.w"] + p[f"{l}.fc.b"], approximate=True)
        h = h + x @ p[f"{l}.proj.w"] + p[f"{l}.proj.b"]
    logits = ln(h, p["lnf_g"], p["lnf_b"]) @ p["wte"].T
    lse = jax.nn.logsumexp(logits, -1)
    return (lse - jnp.take_along_axis(logits, jl[..., None], -1)[..., 0]).mean()

@jax.jit
def jax_step(p, m, v, t):
    loss, g = jax.value_and_grad(jax_loss)(p)
    lr, b1, b2, eps, wd = 1e-4, 0.9, 0.999, 1e-8, 0.01
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    p = jax.tree_util.tree_map(lambda p, m, v: p * (1 - lr * wd) - lr * (m / (1 - b1 ** t)) / (jnp.sqrt(v / (1 - b2 ** t)) + eps), p, m, v)
    return p, m, v, loss

state = [jp, jm, jv]
def jax_run():
    p, m, v, loss = jax_step(*state, 1.0)
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

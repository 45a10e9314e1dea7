#!/usr/bin/env python3
"""GPT-2-small-shaped forward on the CPU: Weft's CPU backend against PyTorch
eager and JAX jit, same shapes, same threads, same run.

Usage: python3 bench/cpu_forward/bench.py --bin build/bin [--layers 12] [--batch 8] [--seq 256] [--reps 3]
Prints one line per system (best of --reps forward passes, after a warm-up)
and the ratios; --json writes them for bench/RESULTS.md.
"""
import json, math, os, platform, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import best_of, parse_args  # noqa: E402

a = parse_args(__doc__, layers=12, batch=8)
import numpy as np

D, H, L, V, B, S = a.hidden, a.heads, a.layers, a.vocab, a.batch, a.seq
F = 4 * D
results = {}


# --- Weft -------------------------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    mlir, weft, report = (os.path.join(tmp, n) for n in ("gpt.mlir", "gpt.weft", "r.json"))
    subprocess.run([f"{a.bin}/weftc", "--generate=gpt", f"--layers={L}", f"--hidden={D}",
                    f"--heads={H}", f"--vocab={V}", f"--seq={S}", f"--batch={B}", "-o", mlir], check=True)
    subprocess.run([f"{a.bin}/weftc", mlir, "-o", weft], check=True)
    subprocess.run([f"{a.bin}/weft-run", weft, f"--steps={a.reps + 1}", f"--threads={a.threads}",
                    f"--report={report}"], check=True, stdout=subprocess.DEVNULL)
    r = json.load(open(report))
    results["weft"] = min(r["step_s"][1:])  # the first step is the warm-up
    flops = json.loads(subprocess.run([f"{a.bin}/weftc", mlir, "--stats", "--json"], check=True,
                                      capture_output=True, text=True).stdout)["forward_flops"]

rng = np.random.default_rng(0)
def w(*shape): return (rng.standard_normal(shape) * 0.02).astype(np.float32)
params = {"wte": w(V, D), "wpe": w(S, D), "lnf": (np.ones(D, np.float32), np.zeros(D, np.float32))}
layers = [dict(ln1=(np.ones(D, np.float32), np.zeros(D, np.float32)),
               ln2=(np.ones(D, np.float32), np.zeros(D, np.float32)),
               q=(w(D, D), np.zeros(D, np.float32)), k=(w(D, D), np.zeros(D, np.float32)),
               v=(w(D, D), np.zeros(D, np.float32)), o=(w(D, D), np.zeros(D, np.float32)),
               fc=(w(D, F), np.zeros(F, np.float32)), proj=(w(F, D), np.zeros(D, np.float32)))
          for _ in range(L)]
tokens = rng.integers(0, V, (B, S)).astype(np.int32)
labels = rng.integers(0, V, (B, S)).astype(np.int32)

# --- PyTorch eager ------------------------------------------------------------
import torch
torch.set_num_threads(a.threads)
T = lambda x: torch.from_numpy(np.asarray(x))
tp = {k: (tuple(T(t) for t in v) if isinstance(v, tuple) else T(v)) for k, v in params.items()}
tl = [{k: tuple(T(t) for t in v) for k, v in l.items()} for l in layers]
tt, tlab = T(tokens).long(), T(labels).long()
mask = torch.full((S, S), float("-inf")).triu(1)

def torch_forward():
    with torch.no_grad():
        h = tp["wte"][tt] + tp["wpe"]
        for l in tl:
            x = torch.nn.functional.layer_norm(h, (D,), *l["ln1"])
            q, k, v = (torch.nn.functional.linear(x, l[n][0].T, l[n][1]).view(B, S, H, D // H).transpose(1, 2)
                       for n in "qkv")
            s = (q @ k.transpose(-1, -2)) / math.sqrt(D // H) + mask
            y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, S, D)
            h = h + torch.nn.functional.linear(y, l["o"][0].T, l["o"][1])
            x = torch.nn.functional.layer_norm(h, (D,), *l["ln2"])
            x = torch.nn.functional.gelu(torch.nn.functional.linear(x, l["fc"][0].T, l["fc"][1]), approximate="tanh")
            h = h + torch.nn.functional.linear(x, l["proj"][0].T, l["proj"][1])
        h = torch.nn.functional.layer_norm(h, (D,), *tp["lnf"])
        logits = h @ tp["wte"].T
        return torch.nn.functional.cross_entropy(logits.view(-1, V), tlab.view(-1)), logits
results["pytorch_eager"] = best_of(torch_forward, a.reps)

# --- JAX jit ------------------------------------------------------------------
import jax, jax.numpy as jnp
jp = jax.tree_util.tree_map(jnp.asarray, params)
jl = jax.tree_util.tree_map(jnp.asarray, layers)

def ln(x, g, b):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(v + 1e-5) * g + b

@jax.jit
def jax_forward(p, ls, tok, lab):
    h = p["wte"][tok] + p["wpe"]
    causal = jnp.tril(jnp.ones((S, S), bool))
    for l in ls:
        x = ln(h, *l["ln1"])
        q, k, v = ((x @ l[n][0] + l[n][1]).reshape(B, S, H, D // H).transpose(0, 2, 1, 3) for n in "qkv")
        s = jnp.where(causal, q @ k.transpose(0, 1, 3, 2) / math.sqrt(D // H), -jnp.inf)
        y = (jax.nn.softmax(s, -1) @ v).transpose(0, 2, 1, 3).reshape(B, S, D)
        h = h + y @ l["o"][0] + l["o"][1]
        x = jax.nn.gelu(ln(h, *l["ln2"]) @ l["fc"][0] + l["fc"][1], approximate=True)
        h = h + x @ l["proj"][0] + l["proj"][1]
    logits = ln(h, *p["lnf"]) @ p["wte"].T
    lse = jax.nn.logsumexp(logits, -1)
    loss = (lse - jnp.take_along_axis(logits, lab[..., None], -1)[..., 0]).mean()
    return loss, logits
jt, jlab = jnp.asarray(tokens), jnp.asarray(labels)
results["jax_jit"] = best_of(lambda: jax.block_until_ready(jax_forward(jp, jl, jt, jlab)), a.reps)

print(f"GPT-2-small-shaped forward: layers={L} hidden={D} heads={H} vocab={V} batch={B} seq={S}, "
      f"{flops / 1e9:.1f} GFLOP, {a.threads} threads on {platform.processor() or platform.machine()}")
for name, s in results.items():
    print(f"  {name:14s} {s * 1e3:9.1f} ms  {flops / s / 1e9:7.1f} GFLOP/s")
print(f"  weft / pytorch_eager = {results['weft'] / results['pytorch_eager']:.2f}x time, "
      f"weft / jax_jit = {results['weft'] / results['jax_jit']:.2f}x time")
print(f"  versions: torch {torch.__version__}, jax {jax.__version__}")
if a.json:
    json.dump({"seconds": results, "flops": flops, "threads": a.threads,
               "torch": torch.__version__, "jax": jax.__version__}, open(a.json, "w"), indent=2)

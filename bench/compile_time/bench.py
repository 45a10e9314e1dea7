#!/usr/bin/env python3
"""Compile time of GPT-2 124M for training (AdamW): `weftc` from the .mlir to
the artifact for several meshes (the issue's target is dp=2,tp=4, under 3 s),
against JAX's jit compile of the same train step (value_and_grad + AdamW),
lowered from abstract shapes so no data is made. Wall clock, best of reps.

Usage: python3 bench/compile_time/bench.py --bin build/bin [--reps 3]
"""
import math, os, platform, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import parse_args  # noqa: E402

a = parse_args(__doc__, layers=12, batch=8)
D, H, L, V, B, S = a.hidden, a.heads, a.layers, a.vocab, a.batch, 1024 if a.seq == 256 else a.seq
F, Dh = 4 * D, D // H


def best(fn):
    times = []
    for _ in range(a.reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


results = {}
with tempfile.TemporaryDirectory() as tmp:
    mlir = os.path.join(tmp, "gpt2.mlir")
    subprocess.run([f"{a.bin}/weftc", "--generate=gpt", f"--layers={L}", f"--hidden={D}", f"--heads={H}",
                    f"--vocab={V}", f"--seq={S}", f"--batch={B}", "-o", mlir], check=True)
    for mesh in ("dp=1", "dp=2", "tp=4", "dp=2,tp=4"):
        weft = os.path.join(tmp, f"{mesh}.weft")
        cmd = [f"{a.bin}/weftc", mlir, "--train=adamw", f"--mesh={mesh}", "-o", weft]
        results[f"weftc {mesh}"] = best(lambda: subprocess.run(cmd, check=True))
        results[f"weftc {mesh}"] = (results[f"weftc {mesh}"], os.path.getsize(weft))

# --- JAX: the same model's train step, jit-compiled from abstract shapes --------
import jax, jax.numpy as jnp

shapes = {"wte": (V, D), "wpe": (S, D), "lnf_g": (D,), "lnf_b": (D,)}
for l in range(L):
    for n in "qkvo":
        shapes[f"{l}.{n}.w"], shapes[f"{l}.{n}.b"] = (D, D), (D,)
    shapes[f"{l}.fc.w"], shapes[f"{l}.fc.b"] = (D, F), (F,)
    shapes[f"{l}.proj.w"], shapes[f"{l}.proj.b"] = (F, D), (D,)
    for n in ("ln1", "ln2"):
        shapes[f"{l}.{n}_g"], shapes[f"{l}.{n}_b"] = (D,), (D,)
abstract = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in shapes.items()}
toks = jax.ShapeDtypeStruct((B, S), jnp.int32)


def ln(x, g, b):
    m = x.mean(-1, keepdims=True); var = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(var + 1e-5) * g + b


def loss_fn(p, tokens, labels):
    h = p["wte"][tokens] + p["wpe"]
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
    return (lse - jnp.take_along_axis(logits, labels[..., None], -1)[..., 0]).mean()


def step(p, m, v, t, tokens, labels):
    loss, g = jax.value_and_grad(loss_fn)(p, tokens, labels)
    lr, b1, b2, eps, wd = 1e-4, 0.9, 0.999, 1e-8, 0.01
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    p = jax.tree_util.tree_map(lambda p, m, v: p * (1 - lr * wd) - lr * (m / (1 - b1 ** t)) / (jnp.sqrt(v / (1 - b2 ** t)) + eps), p, m, v)
    return p, m, v, loss


t_abs = jax.ShapeDtypeStruct((), jnp.float32)


def jax_compile():
    jax.clear_caches()  # each rep traces, lowers and compiles from scratch
    jax.jit(step).lower(abstract, abstract, abstract, t_abs, toks, toks).compile()


results["jax jit (1 device)"] = (best(jax_compile), 0)

print(f"Compile GPT-2 124M train (AdamW): layers={L} hidden={D} heads={H} vocab={V} seq={S} batch={B}; "
      f"best of {a.reps}, {a.threads} threads on {platform.processor() or platform.machine()}")
for name, (s, size) in results.items():
    print(f"  {name:22s} {s:7.2f} s" + (f"   artifact {size / 1e3:.0f} KB" if size else ""))
print(f"  versions: jax {jax.__version__}")

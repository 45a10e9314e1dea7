#!/usr/bin/env python3
"""Compile time of GPT-2 124M for training (AdamW): `weftc` from the .mlir to
the artifact for several meshes (the issue's target is dp=2,tp=4, under 3 s),
against JAX's jit compile of the same train step (value_and_grad + AdamW),
lowered from abstract shapes so no data is made. Wall clock, best of reps.

Usage: python3 bench/compile_time/bench.py --bin build/bin [--reps 3]
"""
import os, platform, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common import gpt_shapes, jax_gpt_train_step, parse_args  # noqa: E402

a = parse_args(__doc__, layers=12, batch=8)
D, H, L, V, B, S = a.hidden, a.heads, a.layers, a.vocab, a.batch, 1024 if a.seq == 256 else a.seq


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
    # Pipelines: one program per pp rank, each its schedule unrolled.
    for mesh, flags in (("pp=4", ["--microbatches=8"]), ("dp=2,tp=2,pp=2", ["--microbatches=4"])):
        weft = os.path.join(tmp, f"{mesh}.weft")
        cmd = [f"{a.bin}/weftc", mlir, "--train=adamw", f"--mesh={mesh}", *flags, "-o", weft]
        key = f"weftc {mesh} {' '.join(flags)}"
        results[key] = (best(lambda: subprocess.run(cmd, check=True)), os.path.getsize(weft))
    # The GSPMD path: Megatron's split as annotations, upstream propagation
    # and partition over the whole training step.
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
    from annotate import annotate
    annotated = os.path.join(tmp, "gpt2.annotated.mlir")
    open(annotated, "w").write(annotate(open(mlir).read()))
    weft = os.path.join(tmp, "annotated.weft")
    cmd = [f"{a.bin}/weftc", annotated, "--train=adamw", "--mesh=dp=2,tp=4", "-o", weft]
    results["weftc dp=2,tp=4 annotated"] = (best(lambda: subprocess.run(cmd, check=True)),
                                             os.path.getsize(weft))

# --- JAX: the same model's train step, jit-compiled from abstract shapes --------
import jax, jax.numpy as jnp

abstract = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in gpt_shapes(L, D, V, S).items()}
toks = jax.ShapeDtypeStruct((B, S), jnp.int32)
t_abs = jax.ShapeDtypeStruct((), jnp.float32)
step = jax_gpt_train_step(L, B, S, H, D)


def jax_compile():
    jax.clear_caches()  # each rep traces, lowers and compiles from scratch
    jax.jit(step).lower(abstract, abstract, abstract, t_abs, toks, toks).compile()


results["jax jit (1 device)"] = (best(jax_compile), 0)

print(f"Compile GPT-2 124M train (AdamW): layers={L} hidden={D} heads={H} vocab={V} seq={S} batch={B}; "
      f"best of {a.reps}, {a.threads} threads on {platform.processor() or platform.machine()}")
for name, (s, size) in results.items():
    print(f"  {name:22s} {s:7.2f} s" + (f"   artifact {size / 1e3:.0f} KB" if size else ""))
print(f"  versions: jax {jax.__version__}")

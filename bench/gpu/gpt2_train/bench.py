#!/usr/bin/env python3
"""bench/gpu/gpt2_train: the GPT-2 124M training step (batch 8, sequence
1024, AdamW, bf16) on one GPU, against PyTorch eager with autocast,
torch.compile and JAX jit, in one run. Each peer runs in its own process so
that peak memory is its own. Prints tokens/s, step time, MFU against the
bf16 matrix peak measured in the same run, and peak memory, as a Markdown
table, and keeps every number in results.jsonl.

Weft's row (weft_peer.py) needs weft-run and the artifact: built here, or on
the GPU machine from the bundle `tests/gpu/run.sh pack` makes (carry .gpu).

Usage: python3 bench/gpu/gpt2_train/bench.py [--out DIR] [--smoke] [--peers gemm_peak,pytorch_eager,...]
"""
import argparse
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import workload  # noqa: E402

PEERS = {
    "gemm_peak": ["gemm_peak.py"],
    "pytorch_eager": ["torch_peer.py", "--mode", "eager"],
    "pytorch_compile": ["torch_peer.py", "--mode", "compile"],
    "jax_jit": ["jax_peer.py"],
    "weft": ["weft_peer.py"],
    "weft_fast_bf16_gemm": ["weft_peer.py", "--fast-bf16-gemm"],
}

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(here, "out"))
ap.add_argument("--smoke", action="store_true", help="tiny model on any device: checks every peer runs")
ap.add_argument("--peers", default=",".join(PEERS))
a = ap.parse_args()

os.makedirs(a.out, exist_ok=True)
results_path = os.path.join(a.out, "results.jsonl")
open(results_path, "w").close()
env = dict(os.environ, PYTHONUNBUFFERED="1")
failed = []
for peer in a.peers.split(","):
    cmd = [sys.executable, os.path.join(here, PEERS[peer][0]), *PEERS[peer][1:], "--out", results_path]
    if a.smoke:
        cmd.append("--smoke")
    print(f"== {peer}: {' '.join(cmd[1:])}", flush=True)
    with open(os.path.join(a.out, f"{peer}.log"), "w") as log:
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log.write(r.stdout)
    if r.returncode != 0:
        failed.append(peer)
        print(f"{peer} failed (exit {r.returncode}); the end of its log:\n{r.stdout[-3000:]}", flush=True)

records = {}
for line in open(results_path):
    rec = json.loads(line)
    records[rec["peer"]] = rec
c = workload.SMOKE if a.smoke else workload.FULL
peak = records.get("gemm_peak", {}).get("flops_per_s")
eager = records.get("pytorch_eager", {}).get("tokens_per_s")
device = next((r["device"] for r in records.values()), "?")
lines = [
    f"GPT-2 training step: {c['layers']} layers, hidden {c['hidden']}, {c['heads']} heads, vocabulary "
    f"{c['vocab']}, batch {c['batch']} x sequence {c['seq']}, AdamW, bf16 autocast; "
    f"{workload.parameters(c):,} parameters, {workload.train_flops(c) / 1e12:.2f} TFLOP per step; on {device}.",
    "Measured bf16 GEMM peak: " + (
        f"{peak / 1e12:.0f} TFLOP/s ({records['gemm_peak']['n']}^3 torch.matmul, median)."
        if peak else "not measured."),
    "",
    "| peer | tokens/s | step | MFU | peak memory | vs PyTorch eager | loss first -> last |",
    "|---|---|---|---|---|---|---|",
]
compiled = records.get("pytorch_compile", {}).get("tokens_per_s")
for peer in ("pytorch_eager", "pytorch_compile", "jax_jit", "weft", "weft_fast_bf16_gemm"):
    r = records.get(peer)
    if not r:
        lines.append(f"| {peer} | failed or not run | | | | | |")
        continue
    mfu = r["flops_per_step"] / r["step_s"] / peak if peak else None
    mem = f"{r['peak_bytes'] / 2**30:.2f} GiB" if r.get("peak_bytes") else "?"
    if r.get("peak_is_plan"):
        mem += " (plan)"
    lines.append(
        f"| {peer} ({r['version']}) | {r['tokens_per_s']:,.0f} | {r['step_s'] * 1e3:.1f} ms | "
        + (f"{100 * mfu:.1f}%" if mfu else "?") + f" | {mem} | "
        + (f"{r['tokens_per_s'] / eager:.2f}x" if eager else "?")
        + f" | {r['loss_first']:.3f} -> {r['loss_last']:.3f} |")
weft = records.get("weft", {}).get("tokens_per_s")
if weft and eager and compiled:
    lines += ["", f"Weft vs PyTorch eager: {weft / eager:.2f}x (goal 1.3x); vs torch.compile: "
              f"{weft / compiled:.2f}x (goal 1.0x)."]
table = "\n".join(lines)
print("\n" + table)
with open(os.path.join(a.out, "results.md"), "w") as f:
    f.write(table + "\n")
sys.exit(1 if failed else 0)

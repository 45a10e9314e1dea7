#!/usr/bin/env python3
"""Alpa's GPT suite planned by weftc --plan=auto --plan-only.

The cases are the GPT-3-style models of Alpa's end-to-end evaluation (Zheng et
al., "Alpa: Automating Inter- and Intra-Operator Parallelism for Distributed
Deep Learning", OSDI 2022, arXiv:2201.12023, Table 4 and Figure 7a, "GPT"):
seq 1024, vocab 51200, global batch 1024, the model growing with the GPU
count; the shapes are those of the paper's artifact (`gpt_specs` in
benchmark/alpa/suite_paper_manual_gpt.py: hidden size, layers, heads).
Alpa ran them on p3.16xlarge nodes (8 V100-16GB); this bench plans them on
the A100 preset (a100-80g-8x for up to 8 GPUs, a100-80g-8x-ib200-<N>nodes
beyond), so it records the plans Weft picks, not a comparison with Alpa's
measured numbers.

For each case it records the mesh, microbatches, schedule, ZeRO-1,
recompute, the predicted step time and TFLOP/s per GPU (Megatron's model-FLOPs
count), the peak memory, and weftc's wall-clock planning time.

Usage: python3 bench/planner/alpa_gpt.py [--bin build/bin] [--markdown] [--json FILE]
"""
import json, os, subprocess, sys, tempfile, time

from megatron import parse_args  # the same flags as the Megatron bench

# name, hidden, layers, heads, GPUs (Alpa's suite: 760M on 2 GPUs to 39B on 64)
SUITE = [
    ("760M", 1536, 24, 16, 2),
    ("1.3B", 2048, 24, 32, 4),
    ("2.6B", 2560, 32, 32, 8),
    ("6.7B", 4096, 32, 32, 16),
    ("15B", 5120, 48, 40, 32),
    ("39B", 8192, 48, 64, 64),
]
SEQ, VOCAB, BATCH = 1024, 51200, 1024


def cluster_for(gpus):
    return "a100-80g-8x" if gpus <= 8 else f"a100-80g-8x-ib200-{(gpus + 7) // 8}nodes"


def main():
    a = parse_args(__doc__)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, hidden, layers, heads, gpus in SUITE:
            model = os.path.join(tmp, f"gpt{name}.mlir")
            subprocess.run([f"{a.bin}/weftc", "--generate=gpt", f"--layers={layers}", f"--hidden={hidden}",
                            f"--heads={heads}", f"--vocab={VOCAB}", f"--seq={SEQ}", f"--batch={BATCH}",
                            "-o", model], check=True)
            cmd = [f"{a.bin}/weftc", model, "--train=adamw", f"--devices={gpus}", "--plan=auto",
                   f"--cluster={cluster_for(gpus)}", "--plan-only", "--explain=json"]
            start = time.monotonic()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            wall = time.monotonic() - start
            os.remove(model)
            plan = json.loads(out)
            rows.append(dict(name=name, hidden=hidden, layers=layers, heads=heads, gpus=gpus,
                             cluster=cluster_for(gpus), wall_s=wall, plan=plan))
            if not a.markdown:
                print(f"{name:>5} {gpus:3d} GPUs  {plan['mesh']:<16} M={plan['microbatches']:<4} "
                      f"{plan['schedule']:<11} zero={plan['zero']} rc={int(plan['recompute'])} "
                      f"{plan['step_time_s']:7.3f} s {plan['tflops_per_device']:6.1f} TF/s/GPU "
                      f"peak {plan['peak_memory_bytes'] / 2**30:5.1f} GiB  planned in {wall:.2f} s "
                      f"(search {plan['planning_time_s']:.3f} s)", flush=True)
    if a.markdown:
        print("| model (hidden, layers, heads) | GPUs | cluster | mesh | M | schedule | ZeRO-1 | recompute "
              "| step (predicted) | TFLOP/s per GPU | peak memory | planning time (weftc wall / search) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            pl = r["plan"]
            sched = pl["schedule"] if pl["pp"] > 1 else ("accumulated" if pl["microbatches"] > 1 else "-")
            if pl["virtual_stages"] > 1:
                sched += f" (V={pl['virtual_stages']})"
            print(f"| {r['name']} ({r['hidden']}, {r['layers']}, {r['heads']}) | {r['gpus']} | {r['cluster']} "
                  f"| {pl['mesh']} | {pl['microbatches']} | {sched} | {'on' if pl['zero'] else 'off'} "
                  f"| {'on' if pl['recompute'] else 'off'} | {pl['step_time_s']:.3f} s "
                  f"| {pl['tflops_per_device']:.0f} | {pl['peak_memory_bytes'] / 2**30:.1f} GiB "
                  f"| {r['wall_s']:.2f} s / {pl['planning_time_s'] * 1e3:.0f} ms |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

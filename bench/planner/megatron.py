#!/usr/bin/env python3
"""Plan quality against Megatron-LM's GPT-3 family (Narayanan et al., "Efficient
Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC 2021,
arXiv:2104.04473, Table 1): GPT 1.7B to 1T on 32 to 3072 A100-80GB GPUs, seq
2048, vocab 51200, with the paper's tensor- and pipeline-parallel sizes and its
measured TFLOP/s per GPU.

For each row, with the A100 cluster spec (a100-80g-8x-ib200-<nodes>nodes):
  auto   weftc --plan=auto --devices=N           (the planner's choice)
  paper  weftc --plan=auto --devices=N --mesh=tp=T,pp=P --zero=0 --recompute=1
         (the paper's mesh, no ZeRO, activation recomputation as in the paper;
          microbatches and schedule chosen by the planner)
and compares the predicted step times (same cost model) and the predicted
TFLOP/s per GPU (Megatron's model-FLOPs count) with the published figure.

Usage: python3 bench/planner/megatron.py [--bin build/bin] [--markdown]
"""
import argparse, json, os, subprocess, sys, tempfile

# params (B), heads, hidden, layers, TP, PP, GPUs, batch, published TFLOP/s per GPU
TABLE1 = [
    (1.7, 24, 2304, 24, 1, 1, 32, 512, 137),
    (3.6, 32, 3072, 30, 2, 1, 64, 512, 138),
    (7.5, 32, 4096, 36, 4, 1, 128, 512, 142),
    (18.4, 48, 6144, 40, 8, 1, 256, 1024, 135),
    (39.1, 64, 8192, 48, 8, 2, 512, 1536, 138),
    (76.1, 80, 10240, 60, 8, 4, 1024, 1792, 140),
    (145.6, 96, 12288, 80, 8, 8, 1536, 2304, 148),
    (310.1, 128, 16384, 96, 8, 16, 1920, 2160, 155),
    (529.6, 128, 20480, 105, 8, 35, 2520, 2520, 163),
    (1008.0, 160, 25600, 128, 8, 64, 3072, 3072, 163),
]


def plan(bin_dir, model, gpus, extra):
    nodes = (gpus + 7) // 8
    cmd = [f"{bin_dir}/weftc", model, "--train=adamw", f"--devices={gpus}", "--plan=auto",
           f"--cluster=a100-80g-8x-ib200-{nodes}nodes", "--plan-only", "--explain=json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def parse_args(doc):
    """The planner benches' flags: --bin, --markdown, --json."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", default="")
    return p.parse_args()


def main():
    a = parse_args(__doc__)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (params, heads, hidden, layers, tp, pp, gpus, batch, published) in TABLE1:
            model = os.path.join(tmp, f"gpt{params}.mlir")
            subprocess.run([f"{a.bin}/weftc", "--generate=gpt", f"--layers={layers}", f"--hidden={hidden}",
                            f"--heads={heads}", "--vocab=51200", "--seq=2048", f"--batch={batch}",
                            "-o", model], check=True)
            auto = plan(a.bin, model, gpus, [])
            paper = plan(a.bin, model, gpus, [f"--mesh=tp={tp},pp={pp}", "--zero=0", "--recompute"])
            os.remove(model)
            rows.append(dict(params=params, gpus=gpus, batch=batch, paper_mesh=paper["mesh"], published=published,
                             paper_plan=paper, auto_plan=auto))
            r = rows[-1]
            if not a.markdown:
                print(f"{params:7.1f}B {gpus:5d} GPUs  paper {paper['mesh']:<18} {paper['step_time_s']:8.3f} s "
                      f"{paper['tflops_per_device']:6.1f} TF/s  | auto {auto['mesh']:<18} M={auto['microbatches']} "
                      f"{auto['schedule']} rc={int(auto['recompute'])} zero={auto['zero']} "
                      f"{auto['step_time_s']:8.3f} s {auto['tflops_per_device']:6.1f} TF/s | published {published}",
                      flush=True)
    if a.markdown:
        print("| model | GPUs | batch | paper TP x PP (dp) | paper config, predicted | auto plan | auto, predicted "
              "| auto / paper throughput | published TFLOP/s/GPU | predicted (paper config) vs published |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            pp_, au = r["paper_plan"], r["auto_plan"]
            sched = "accumulated" if au["pp"] == 1 else au["schedule"]
            cfg = f"{au['mesh']}" + (f", M={au['microbatches']} {sched}" if au["microbatches"] > 1 else "") + \
                  (", recompute" if au["recompute"] else "") + (", ZeRO-1" if au["zero"] else "")
            print(f"| {r['params']}B | {r['gpus']} | {r['batch']} | {pp_['tp']} x {pp_['pp']} ({pp_['dp']}) "
                  f"| {pp_['step_time_s']:.2f} s, {pp_['tflops_per_device']:.0f} TFLOP/s "
                  f"| {cfg} | {au['step_time_s']:.2f} s, {au['tflops_per_device']:.0f} TFLOP/s "
                  f"| {pp_['step_time_s'] / au['step_time_s']:.3f} "
                  f"| {r['published']} | {(pp_['tflops_per_device'] / r['published'] - 1) * 100:+.0f}% |")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)
    worse = [r for r in rows if r["auto_plan"]["step_time_s"] > r["paper_plan"]["step_time_s"] * (1 + 1e-9)]
    within = sum(abs(r["paper_plan"]["tflops_per_device"] / r["published"] - 1) <= 0.2 for r in rows)
    print(f"\nauto plan at least as fast as the paper's configuration: {len(rows) - len(worse)} of {len(rows)} rows; "
          f"predicted TFLOP/s (paper config) within 20% of published: {within} of {len(rows)} rows", file=sys.stderr)
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Measures what the planner's cost model needs from one GPU and writes it as
a calibration file for `weftc --plan=auto --calibration=FILE.json` (or a
cluster file's "calibration" key; compiler/cost/Cluster.h has the format):

  - GEMM throughput in bf16 and in fp32 (TF32 off, as the cost model's fp32
    peak assumes) over square sizes 256 to 16384: torch.matmul (cuBLAS) on
    random data (zeros run faster), timed with CUDA events over a batch of
    products after a warm-up, the median of 5 batches;
  - HBM bandwidth: a device-to-device copy (Tensor.copy_) from 1 MiB to
    4 GiB, counting the bytes read and written; the cost model takes the
    best of the copies of 256 MiB and more (the plateau, past the L2).

The planner interpolates each GEMM's throughput by its FLOPs between the
measured sizes (linear in log FLOPs). --smoke runs tiny sizes on the CPU to
check the code and the file's layout; its file says "smoke": true, which
weftc refuses as a calibration.

Usage: calibrate.py [--out calibration.json] [--smoke]
On a lent GPU machine: python3 bench/gpu/calibrate/calibrate.py --out $OUT/h100.json
"""
import argparse
import json
import statistics
import sys
import time

import torch

GEMM_SIZES = [256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]
COPY_MIB = [1, 4, 16, 64, 256, 1024, 4096]
PLATEAU_BYTES = 256 << 20
SMOKE_GEMM_SIZES = [32, 64, 128]
SMOKE_COPY_MIB = [1, 4]


class Timer:
    """Seconds per call of fn, as the median of `batches` batches of `reps`
    calls: CUDA events around each batch on a GPU, the wall clock on a CPU."""

    def __init__(self, cuda):
        self.cuda = cuda

    def __call__(self, fn, reps, batches=5, warmup=3):
        for _ in range(warmup):
            fn()
        self.sync()
        per_call = []
        for _ in range(batches):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(reps):
                    fn()
                end.record()
                end.synchronize()
                per_call.append(start.elapsed_time(end) / 1e3 / reps)
            else:
                t = time.perf_counter()
                for _ in range(reps):
                    fn()
                per_call.append((time.perf_counter() - t) / reps)
        return statistics.median(per_call)

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def reps_for(work, per_second):
    """Enough calls for a batch of ~20 ms at the rate guessed, 3 to 1000."""
    return max(3, min(1000, int(0.02 * per_second / max(work, 1))))


def gemm_curve(dtype, sizes, dev, timer, guess_flops_per_s):
    points = []
    for n in sizes:
        try:
            a, b = (torch.randn(n, n, device=dev, dtype=dtype) for _ in range(2))
            out = torch.empty(n, n, device=dev, dtype=dtype)
        except torch.OutOfMemoryError:
            print(f"  {dtype} {n}: out of memory, skipped", file=sys.stderr)
            continue
        flops = 2 * n ** 3
        seconds = timer(lambda: torch.matmul(a, b, out=out), reps_for(flops, guess_flops_per_s))
        points.append({"m": n, "n": n, "k": n, "flops": flops, "seconds": seconds,
                       "tflops": flops / seconds / 1e12})
        print(f"  {str(dtype):15s} {n:6d}^3  {points[-1]['tflops']:9.2f} TFLOP/s", file=sys.stderr)
        del a, b, out
    return points


def copy_curve(mib_list, dev, timer, guess_bytes_per_s):
    points = []
    for mib in mib_list:
        size = mib << 20
        try:
            src = torch.empty(size, device=dev, dtype=torch.uint8).random_(0, 255)
            dst = torch.empty_like(src)
        except torch.OutOfMemoryError:
            print(f"  copy {mib} MiB: out of memory, skipped", file=sys.stderr)
            continue
        seconds = timer(lambda: dst.copy_(src), reps_for(2 * size, guess_bytes_per_s))
        points.append({"bytes": size, "seconds": seconds, "gb_per_s": 2 * size / seconds / 1e9})
        print(f"  copy {mib:6d} MiB  {points[-1]['gb_per_s']:9.1f} GB/s (read + write)", file=sys.stderr)
        del src, dst
    return points


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="calibration.json")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU: checks the code, measures nothing")
    args = ap.parse_args()

    cuda = torch.cuda.is_available() and not args.smoke
    if not cuda and not args.smoke:
        sys.exit("calibrate.py: no CUDA GPU here (torch.cuda.is_available() is False); "
                 "--smoke checks the script on the CPU")
    dev = "cuda" if cuda else "cpu"
    timer = Timer(cuda)
    # TF32 off: the fp32 curve is what the cost model's fp32 (non-TF32) peak stands for.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(0)

    gemm_sizes, copy_mib = (SMOKE_GEMM_SIZES, SMOKE_COPY_MIB) if args.smoke else (GEMM_SIZES, COPY_MIB)
    # Rough rates only size the batches so each lasts ~20 ms.
    guess = {"bf16": 500e12, "fp32": 50e12, "copy": 2e12} if cuda else {"bf16": 1e10, "fp32": 5e10, "copy": 5e9}
    result = {
        "format": "weft-calibration-1",
        "device": torch.cuda.get_device_name() if cuda else "cpu (smoke)",
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "smoke": args.smoke,
        "gemm": {
            "bf16": gemm_curve(torch.bfloat16, gemm_sizes, dev, timer, guess["bf16"]),
            "fp32": gemm_curve(torch.float32, gemm_sizes, dev, timer, guess["fp32"]),
        },
    }
    points = copy_curve(copy_mib, dev, timer, guess["copy"])
    plateau = [p["gb_per_s"] for p in points if p["bytes"] >= PLATEAU_BYTES] or [p["gb_per_s"] for p in points]
    result["hbm"] = {"copy_gb_per_s": max(plateau), "points": points}
    for key in ("bf16", "fp32"):
        if not result["gemm"][key]:
            del result["gemm"][key]  # every size ran out of memory
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

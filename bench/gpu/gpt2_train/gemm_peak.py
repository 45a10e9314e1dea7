#!/usr/bin/env python3
"""The measured bf16 matrix peak that MFU is taken against: an
8192 x 8192 x 8192 bf16 product through torch.matmul (cuBLAS) on random
data (zeros run faster), timed with CUDA events after a warm-up, median of
the timed products.

Usage: gemm_peak.py [--smoke] [--out results.jsonl]
"""
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

def own_flags(ap):
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--reps", type=int, default=50)


a = timing.peer_args(__doc__, train=False, extra=own_flags)

cuda = torch.cuda.is_available()
if not cuda and not a.smoke:
    sys.exit("gemm_peak.py: no CUDA GPU (use --smoke to check the code on a CPU)")
n = 256 if a.smoke else a.n
dev = "cuda" if cuda else "cpu"
x, y = (torch.randn(n, n, device=dev, dtype=torch.bfloat16) for _ in range(2))
for _ in range(3):
    z = x @ y
times = []
for _ in range(a.reps if not a.smoke else 3):
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        z = x @ y
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    else:
        import time
        t = time.perf_counter()
        z = x @ y
        times.append(time.perf_counter() - t)
median = statistics.median(times)
timing.emit(a.out, {"peer": "gemm_peak", "device": torch.cuda.get_device_name() if cuda else "cpu",
                    "n": n, "seconds": median, "flops_per_s": 2 * n ** 3 / median})

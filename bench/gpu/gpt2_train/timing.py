"""What the peers share besides the workload: their flags, the timing
(warm-up steps keep compilation, autotuning and allocator growth out, then
the median of timed steps, each ended by a device synchronisation), and one
JSON line of results per peer."""
import argparse
import json
import statistics
import time


def peer_args(doc, train=True, extra=None):
    """The flags every peer takes; `extra(parser)` adds a peer's own."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a tiny size on any device: checks the code runs")
    ap.add_argument("--out", default="", help="append the result line to this file")
    if train:
        ap.add_argument("--warmup", type=int, default=5)
        ap.add_argument("--steps", type=int, default=20)
    if extra:
        extra(ap)
    return ap.parse_args()


def median_step_s(step, sync, warmup, steps):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def emit(path, record):
    """Appends one result line to `path` and echoes it."""
    line = json.dumps(record)
    print(line, flush=True)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")

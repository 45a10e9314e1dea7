"""What the CPU benchmarks share: the GPT shape flags, one thread count for
every peer, and best-of-N timing after a warm-up."""
import argparse, os, time


def parse_args(doc, layers, batch):
    """The GPT-2-small shape, with this benchmark's layers and batch."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--layers", type=int, default=layers)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", default="")
    a = p.parse_args()
    # Every peer gets the same threads; set before torch and jax are imported.
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={a.threads}"
    return a


def best_of(fn, reps):
    fn()  # warm-up (and compilation for jit)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

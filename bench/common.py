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


def gpt_shapes(layers, hidden, vocab, seq):
    """GPT-2's parameters by name and shape, in one fixed order (the JAX
    peers' flat layout; weights `.w`, biases `.b`, norm gains `_g`)."""
    D, F = hidden, 4 * hidden
    shapes = {"wte": (vocab, D), "wpe": (seq, D), "lnf_g": (D,), "lnf_b": (D,)}
    for l in range(layers):
        for n in "qkvo":
            shapes[f"{l}.{n}.w"], shapes[f"{l}.{n}.b"] = (D, D), (D,)
        shapes[f"{l}.fc.w"], shapes[f"{l}.fc.b"] = (D, F), (F,)
        shapes[f"{l}.proj.w"], shapes[f"{l}.proj.b"] = (F, D), (D,)
        for n in ("ln1", "ln2"):
            shapes[f"{l}.{n}_g"], shapes[f"{l}.{n}_b"] = (D,), (D,)
    return shapes


def jax_gpt_train_step(layers, batch, seq, heads, hidden):
    """The JAX peer's GPT train step (value_and_grad + a hand-written AdamW,
    lr 1e-4, weight decay 0.01): step(p, m, v, t, tokens, labels) -> (p, m, v, loss)."""
    import math
    import jax, jax.numpy as jnp
    L, B, S, H, D = layers, batch, seq, heads, hidden
    Dh = D // H

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

    return step

#!/usr/bin/env python3
"""The JAX peer: the same GPT-2 training step under jax.jit, bf16 matmuls
on fp32 master weights (autocast's arithmetic, written out), fp32 norms,
softmax and loss, jax.nn.dot_product_attention (cuDNN's fused kernel where
XLA picks it), and AdamW written out as torch.optim.AdamW computes it.
Parameters and optimizer state are donated, so they are updated in place.

Usage: jax_peer.py [--smoke] [--out results.jsonl]
"""
import math
import os
import sys

# Allocate on demand so that the peak reported is the step's, not a
# preallocated 75% of the GPU.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402
import workload  # noqa: E402

a = timing.peer_args(__doc__)

c = workload.SMOKE if a.smoke else workload.FULL
device = jax.devices()[0]
if device.platform != "gpu" and not a.smoke:
    sys.exit(f"jax_peer.py: JAX sees no GPU ({device}); use --smoke to check the code on a CPU")
L, D, H, V, S, B = (c[k] for k in ("layers", "hidden", "heads", "vocab", "seq", "batch"))
Dh = D // H
bf16 = jnp.bfloat16


def ln(x, g, b):
    x = x.astype(jnp.float32)
    m = x.mean(-1, keepdims=True)
    var = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) * jax.lax.rsqrt(var + 1e-5) * g + b


def linear(x, w, b):  # autocast: bf16 operands, fp32 accumulation, bf16 result
    return (jnp.dot(x.astype(bf16), w.astype(bf16), preferred_element_type=jnp.float32) + b).astype(bf16)


def loss_fn(p, tokens, labels):
    h = p["wte"][tokens] + p["wpe"]
    for l in range(L):
        x = ln(h, p[f"{l}.ln1_g"], p[f"{l}.ln1_b"])
        q, k, v = (linear(x, p[f"{l}.{n}.w"], p[f"{l}.{n}.b"]).reshape(B, S, H, Dh) for n in "qkv")
        y = jax.nn.dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(Dh))
        h = h + linear(y.reshape(B, S, D), p[f"{l}.o.w"], p[f"{l}.o.b"])
        x = jax.nn.gelu(linear(ln(h, p[f"{l}.ln2_g"], p[f"{l}.ln2_b"]), p[f"{l}.fc.w"], p[f"{l}.fc.b"]),
                        approximate=True)
        h = h + linear(x, p[f"{l}.proj.w"], p[f"{l}.proj.b"])
    x = ln(h, p["lnf_g"], p["lnf_b"]).astype(bf16)
    logits = jnp.dot(x, p["wte"].astype(bf16).T, preferred_element_type=jnp.float32)
    lse = jax.nn.logsumexp(logits, -1)
    return (lse - jnp.take_along_axis(logits, labels[..., None], -1)[..., 0]).mean()


o = workload.ADAMW


def train_step(p, m, v, t, tokens, labels):
    loss, g = jax.value_and_grad(loss_fn)(p, tokens, labels)
    t = t + 1
    m = jax.tree_util.tree_map(lambda m, g: o["b1"] * m + (1 - o["b1"]) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: o["b2"] * v + (1 - o["b2"]) * g * g, v, g)
    c1, c2 = 1 - o["b1"] ** t, 1 - o["b2"] ** t
    p = jax.tree_util.tree_map(
        lambda p, m, v: p * (1 - o["lr"] * o["wd"]) - o["lr"] * (m / c1) / (jnp.sqrt(v / c2) + o["eps"]),
        p, m, v)
    return p, m, v, t, loss


step_fn = jax.jit(train_step, donate_argnums=(0, 1, 2, 3))
params = {k: jnp.asarray(x) for k, x in workload.init(c).items()}
state = [params, jax.tree_util.tree_map(jnp.zeros_like, params),
         jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), jnp.float32)]
tokens, labels = (jnp.asarray(x) for x in workload.batch(c))
losses = []


def step():
    state[0], state[1], state[2], state[3], loss = step_fn(*state, tokens, labels)
    losses.append(loss)


median, times = timing.median_step_s(step, lambda: jax.block_until_ready(state), a.warmup, a.steps)
losses = [float(x) for x in losses]
if not all(math.isfinite(x) for x in losses):
    sys.exit(f"jax_peer.py: non-finite loss {losses}")
stats = device.memory_stats() or {}
timing.emit(a.out, {
    "peer": "jax_jit", "device": device.device_kind, "version": jax.__version__, "config": c,
    "step_s": median, "steps_s": times, "tokens_per_s": workload.tokens_per_step(c) / median,
    "flops_per_step": workload.train_flops(c), "peak_bytes": stats.get("peak_bytes_in_use"),
    "loss_first": losses[0], "loss_last": losses[-1],
})

"""Training oracle: the four Weft model families in jax.numpy (float64), gradients
from jax.grad, and PyTorch's AdamW and SGD-with-momentum written out by hand.

A second implementation of the architectures in reference.py (same parameter
and input names, same results; test_reference_jax.py checks that they agree),
written for jax so that it can be differentiated. `train` mirrors
`weft-run --steps=N --data=...`: step i runs batch i % len(batches), records
that forward pass's loss, then updates every parameter.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

jax.config.update("jax_enable_x64", True)

LN_EPS = 1e-5
ADAMW_DEFAULTS = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
SGD_DEFAULTS = {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0}


# --- building blocks ----------------------------------------------------------

def softmax(x):
    e = jnp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layer_norm(x, gamma, beta):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased
    return (x - mean) / jnp.sqrt(var + LN_EPS) * gamma + beta


def gelu_exact(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def cross_entropy(logits, labels):
    """Mean over every position of -log softmax(logits)[label]."""
    m = logits.max(axis=-1, keepdims=True)
    lse = jnp.log(jnp.exp(logits - m).sum(axis=-1)) + m[..., 0]
    picked = jnp.take_along_axis(logits, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return (lse - picked).mean()


def linear(p, x, prefix):
    return x @ p[prefix + ".weight"] + p[prefix + ".bias"]


def ln(p, x, prefix):
    return layer_norm(x, p[prefix + ".weight"], p[prefix + ".bias"])


def self_attention(p, x, prefix, heads, causal):
    b, s, d = x.shape
    dh = d // heads
    q, k, v = (linear(p, x, f"{prefix}.{n}_proj").reshape(b, s, heads, dh).transpose(0, 2, 1, 3)
               for n in "qkv")
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)  # [B, H, S, S]
    if causal:
        scores = jnp.where(jnp.triu(jnp.ones((s, s), bool), k=1), -jnp.inf, scores)
    merged = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
    return linear(p, merged, prefix + ".o_proj")


def _count(p, fmt):
    n = 0
    while fmt.format(n) in p:
        n += 1
    return n


# --- models: (params, inputs[, heads]) -> logits --------------------------------

def mlp(p, inputs):
    h = inputs["x"]
    for l in range(_count(p, "fc{}.weight")):
        h = jnp.maximum(linear(p, h, f"fc{l}"), 0.0)
    return linear(p, h, "head")


def lstm_lm(p, inputs):
    tokens = inputs["tokens"]
    xs = [p["embedding"][tokens[:, t]] for t in range(tokens.shape[1])]
    for l in range(_count(p, "lstm.{}.w_ih")):
        w_ih, w_hh, bias = p[f"lstm.{l}.w_ih"], p[f"lstm.{l}.w_hh"], p[f"lstm.{l}.bias"]
        h = c = jnp.zeros((tokens.shape[0], w_hh.shape[0]), w_hh.dtype)
        out = []
        for x in xs:
            i, f, g, o = jnp.split(x @ w_ih + h @ w_hh + bias, 4, axis=-1)  # gate order i, f, g, o
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            out.append(h)
        xs = out
    return linear(p, jnp.stack(xs, axis=1), "head")


def gpt(p, inputs, heads):
    tokens = inputs["tokens"]
    h = p["wte"][tokens] + p["wpe"][:tokens.shape[1]]
    for l in range(_count(p, "h.{}.ln_1.weight")):
        pre = f"h.{l}"
        h = h + self_attention(p, ln(p, h, pre + ".ln_1"), pre + ".attn", heads, causal=True)
        h = h + linear(p, gelu_tanh(linear(p, ln(p, h, pre + ".ln_2"), pre + ".mlp.fc")),
                       pre + ".mlp.proj")
    return ln(p, h, "ln_f") @ p["wte"].T  # tied output embedding


def bert(p, inputs, heads):
    tokens = inputs["tokens"]
    word = p["embeddings.word"]
    h = ln(p, word[tokens] + p["embeddings.position"][:tokens.shape[1]], "embeddings.ln")
    for l in range(_count(p, "layer.{}.ln_1.weight")):
        pre = f"layer.{l}"
        h = ln(p, h + self_attention(p, h, pre + ".attn", heads, causal=False), pre + ".ln_1")
        h = ln(p, h + linear(p, gelu_exact(linear(p, h, pre + ".mlp.fc")), pre + ".mlp.proj"),
               pre + ".ln_2")
    t = ln(p, gelu_exact(linear(p, h, "mlm.dense")), "mlm.ln")
    return t @ word.T + p["mlm.decoder.bias"]


MODELS = {"mlp": mlp, "lstm_lm": lstm_lm, "gpt": gpt, "bert": bert}


def logits_fn(kind, heads=None):
    if kind in ("gpt", "bert"):
        if heads is None:
            raise ValueError(f"{kind} needs the number of attention heads")
        return lambda p, inputs: MODELS[kind](p, inputs, heads)
    return MODELS[kind]


def loss_fn(kind, heads=None):
    """(params, inputs) -> the `loss` output, mean cross-entropy against inputs['labels']."""
    logits = logits_fn(kind, heads)
    return lambda p, inputs: cross_entropy(logits(p, inputs), inputs["labels"])


def _as(params, dtype):
    return {k: jnp.asarray(np.asarray(v), dtype=dtype) for k, v in params.items()}


def forward(kind, params, inputs, heads=None):
    """{'loss', 'logits'} as float64 NumPy, like reference.forward's outputs."""
    p = _as(params, jnp.float64)
    logits = logits_fn(kind, heads)(p, inputs)
    return {"loss": np.float64(cross_entropy(logits, inputs["labels"])),
            "logits": np.asarray(logits)}


def relu_margin(params, inputs):
    """The smallest |pre-activation| of any ReLU in the MLP: how close this batch
    comes to a kink, where float32 rounding can flip a unit on or off."""
    h, margin = np.asarray(inputs["x"], np.float64), np.inf
    for l in range(_count(params, "fc{}.weight")):
        z = h @ np.asarray(params[f"fc{l}.weight"], np.float64) + params[f"fc{l}.bias"]
        margin, h = min(margin, float(np.abs(z).min())), np.maximum(z, 0.0)
    return margin


# --- optimizers (one tensor at a time; t is the step count after increment) ----

def adamw_update(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """torch.optim.AdamW: decoupled decay on the old p, then the bias-corrected step."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p * (1 - lr * weight_decay)
    p = p - lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)) ** 0.5 + eps)
    return p, m, v


def sgd_update(p, g, buf, t, lr, momentum, weight_decay):
    """torch.optim.SGD with momentum, dampening 0, no Nesterov."""
    g = g + weight_decay * p
    buf = g if t == 1 else momentum * buf + g
    return p - lr * buf, buf


def train(kind, params, batches, steps, optimizer, hparams=None, heads=None, dtype=np.float64,
          trace=None):
    """Runs `steps` updates; step i uses batches[i % len(batches)] (a dict of inputs).

    Returns (losses, final): losses[i] is step i's loss before its update; final
    maps every parameter name to its value after the last update, plus the
    optimizer state as weft-run saves it: 'optimizer.step' and
    'optimizer.m.<name>'/'optimizer.v.<name>' (adamw) or
    'optimizer.momentum.<name>' (sgd). Everything is float64 NumPy; `dtype`
    (float64, or float32 to mimic a float32 implementation) is the precision
    of the whole computation. trace(step, params, batch), if given, sees every
    step's parameters before its update.
    """
    if optimizer not in ("adamw", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r}")
    hp = dict(ADAMW_DEFAULTS if optimizer == "adamw" else SGD_DEFAULTS, **(hparams or {}))
    value_and_grad = jax.jit(jax.value_and_grad(loss_fn(kind, heads)))
    p = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    slots = ("m", "v") if optimizer == "adamw" else ("momentum",)
    state = {s: {k: np.zeros_like(v) for k, v in p.items()} for s in slots}
    losses = []
    for t in range(1, steps + 1):
        batch = batches[(t - 1) % len(batches)]
        if trace:
            trace(t - 1, p, batch)
        loss, grads = value_and_grad(_as(p, dtype), batch)
        losses.append(float(loss))
        for k in p:
            g = np.asarray(grads[k], dtype=dtype)
            if optimizer == "adamw":
                p[k], state["m"][k], state["v"][k] = adamw_update(
                    p[k], g, state["m"][k], state["v"][k], t, **hp)
            else:
                p[k], state["momentum"][k] = sgd_update(p[k], g, state["momentum"][k], t, **hp)
    final = {k: v.astype(np.float64) for k, v in p.items()}
    final["optimizer.step"] = np.float64(steps)
    for s in slots:
        final.update({f"optimizer.{s}.{k}": v.astype(np.float64) for k, v in state[s].items()})
    return losses, final

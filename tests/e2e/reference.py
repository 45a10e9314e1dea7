"""Independent NumPy (float64) forward passes of the four Weft model families.

Written from the architectures (frontends/models/*Generator.cpp headers) and
the op semantics in docs/ir.md, not from the generated IR. Each model takes
`params` (name -> array, the `weft.param` names) and `inputs` (name -> array,
the `weft.input` names) and returns {'loss': float64 scalar, 'logits': array}.
Layer counts come from the parameter names; attention heads are an argument.
"""
import math
import os

import numpy as np

LN_EPS = 1e-5  # every layer norm in the generated models uses the default eps


# --- building blocks ----------------------------------------------------------

class Params:
    """Float64 view of a parameter dict that records which names were read."""

    def __init__(self, params):
        self._p = params
        self.used = set()

    def __contains__(self, name):
        return name in self._p

    def __getitem__(self, name):
        self.used.add(name)
        return np.asarray(self._p[name], dtype=np.float64)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, eps=LN_EPS):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased variance
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_exact(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def cross_entropy(logits, labels):
    """Mean over all positions of -log softmax(logits)[label]."""
    m = logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=-1)) + m[..., 0]
    picked = np.take_along_axis(logits, labels[..., None].astype(np.int64), axis=-1)[..., 0]
    return np.float64((lse - picked).mean())


def attention(q, k, v, causal):
    """q, k, v: [B, H, S, Dh]; softmax(q k^T / sqrt(Dh) [+ causal mask]) v."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if causal:
        sq, sk = scores.shape[-2:]
        future = np.triu(np.ones((sq, sk), dtype=bool), k=1)  # key j > query i
        scores = np.where(future, -np.inf, scores)
    return softmax(scores) @ v


def linear(p, x, prefix):
    return x @ p[prefix + ".weight"] + p[prefix + ".bias"]


def self_attention(p, x, prefix, heads, causal):
    b, s, d = x.shape
    dh = d // heads

    def split(t):  # [B, S, D] -> [B, H, S, Dh]
        return t.reshape(b, s, heads, dh).transpose(0, 2, 1, 3)

    q = split(linear(p, x, prefix + ".q_proj"))
    k = split(linear(p, x, prefix + ".k_proj"))
    v = split(linear(p, x, prefix + ".v_proj"))
    merged = attention(q, k, v, causal).transpose(0, 2, 1, 3).reshape(b, s, d)
    return linear(p, merged, prefix + ".o_proj")


def ln(p, x, prefix):
    return layer_norm(x, p[prefix + ".weight"], p[prefix + ".bias"])


def _count(p, fmt):
    n = 0
    while fmt.format(n) in p:
        n += 1
    return n


def _result(logits, labels):
    return {"loss": cross_entropy(logits, labels), "logits": logits}


# --- models -------------------------------------------------------------------

def mlp(params, inputs, p=None):
    p = p or Params(params)
    h = np.asarray(inputs["x"], dtype=np.float64)
    for l in range(_count(p, "fc{}.weight")):
        h = np.maximum(linear(p, h, f"fc{l}"), 0.0)
    return _result(linear(p, h, "head"), inputs["labels"])


def lstm_lm(params, inputs, p=None):
    p = p or Params(params)
    tokens = np.asarray(inputs["tokens"])
    bsz, steps = tokens.shape
    xs = [p["embedding"][tokens[:, t]] for t in range(steps)]
    for l in range(_count(p, "lstm.{}.w_ih")):
        w_ih, w_hh, bias = p[f"lstm.{l}.w_ih"], p[f"lstm.{l}.w_hh"], p[f"lstm.{l}.bias"]
        hid = w_hh.shape[0]
        h = np.zeros((bsz, hid))
        c = np.zeros((bsz, hid))
        out = []
        for x in xs:
            i, f, g, o = np.split(x @ w_ih + h @ w_hh + bias, 4, axis=-1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            out.append(h)
        xs = out
    hs = np.stack(xs, axis=1)  # [B, T, H]
    return _result(linear(p, hs, "head"), inputs["labels"])


def gpt(params, inputs, heads, p=None):
    p = p or Params(params)
    tokens = np.asarray(inputs["tokens"])
    s = tokens.shape[1]
    h = p["wte"][tokens] + p["wpe"][:s]
    for l in range(_count(p, "h.{}.ln_1.weight")):
        pre = f"h.{l}"
        h = h + self_attention(p, ln(p, h, pre + ".ln_1"), pre + ".attn", heads, causal=True)
        h = h + linear(p, gelu_tanh(linear(p, ln(p, h, pre + ".ln_2"), pre + ".mlp.fc")),
                       pre + ".mlp.proj")
    logits = ln(p, h, "ln_f") @ p["wte"].T
    return _result(logits, inputs["labels"])


def bert(params, inputs, heads, p=None):
    p = p or Params(params)
    tokens = np.asarray(inputs["tokens"])
    s = tokens.shape[1]
    word = p["embeddings.word"]
    h = ln(p, word[tokens] + p["embeddings.position"][:s], "embeddings.ln")
    for l in range(_count(p, "layer.{}.ln_1.weight")):
        pre = f"layer.{l}"
        h = ln(p, h + self_attention(p, h, pre + ".attn", heads, causal=False), pre + ".ln_1")
        ff = linear(p, gelu_exact(linear(p, h, pre + ".mlp.fc")), pre + ".mlp.proj")
        h = ln(p, h + ff, pre + ".ln_2")
    t = ln(p, gelu_exact(linear(p, h, "mlm.dense")), "mlm.ln")
    logits = t @ word.T + p["mlm.decoder.bias"]
    return _result(logits, inputs["labels"])


# --- dispatch -----------------------------------------------------------------

MODELS = {"mlp": mlp, "lstm_lm": lstm_lm, "gpt": gpt, "bert": bert}


def model_kind(path):
    """'mlp', 'lstm_lm', 'gpt' or 'bert' from a model file's name."""
    name = os.path.basename(path).lower()
    for key, kind in (("mlp", "mlp"), ("lstm", "lstm_lm"), ("gpt", "gpt"), ("bert", "bert")):
        if key in name:
            return kind
    raise ValueError(f"cannot tell the model kind from the file name {path!r}")


def forward(kind, params, inputs, heads=None):
    """Runs the reference; returns (outputs, names of the parameters it never read)."""
    p = Params(params)
    if kind in ("gpt", "bert"):
        if heads is None:
            raise ValueError(f"{kind} needs the number of attention heads")
        out = MODELS[kind](params, inputs, heads, p=p)
    else:
        out = MODELS[kind](params, inputs, p=p)
    return out, sorted(set(params) - p.used)

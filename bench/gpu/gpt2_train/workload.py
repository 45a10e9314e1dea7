"""What bench/gpu/gpt2_train measures, shared by every peer: the GPT-2 124M
shape in Weft's layout (bench/common.py's gpt_shapes: separate Q, K, V
projections, learned positions, pre-LN, tanh GELU, LM head tied to wte),
the batch, the AdamW settings, the initial values and the FLOP count."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from common import gpt_shapes  # noqa: E402

# The workload: GPT-2 124M, batch 8, sequence 1024, AdamW, bf16.
FULL = dict(layers=12, hidden=768, heads=12, vocab=50257, seq=1024, batch=8)
# A few seconds on a CPU: checks that every peer runs, says nothing of speed.
SMOKE = dict(layers=2, hidden=64, heads=4, vocab=128, seq=32, batch=2)

# AdamW as GPT-2 reproductions train it; weight decay on every tensor so that
# the hand-written JAX update and torch.optim.AdamW do the same arithmetic.
ADAMW = dict(lr=6e-4, b1=0.9, b2=0.95, eps=1e-8, wd=0.1)


def shapes(c):
    return gpt_shapes(c["layers"], c["hidden"], c["vocab"], c["seq"])


def init(c, seed=0):
    """The initial parameters as float32 NumPy arrays: normal(0, 0.02)
    weights and embeddings, unit norm gains, zero biases."""
    import numpy as np
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes(c).items():
        if name.endswith(".w") or name in ("wte", "wpe"):
            out[name] = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        else:
            out[name] = (np.ones if name.endswith("_g") else np.zeros)(shape, np.float32)
    return out


def batch(c, seed=1):
    """Synthetic tokens and next-token labels (int32), the same for every peer."""
    import numpy as np
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, c["vocab"], (c["batch"], c["seq"] + 1)).astype(np.int32)
    return tokens[:, :-1], tokens[:, 1:]


def parameters(c):
    n = 0
    for shape in shapes(c).values():
        k = 1
        for d in shape:
            k *= d
        n += k
    return n


def train_flops(c):
    """Matrix FLOPs of one training step, counted as nanoGPT and PaLM count
    them: 2 per multiply-add over the layers' 12 D^2 weights and the tied LM
    head, plus 4 S D per token per layer for the two attention products
    (no saving for the causal mask), times 3 for forward and backward."""
    L, D, V, S = c["layers"], c["hidden"], c["vocab"], c["seq"]
    per_token = 2 * (12 * D * D * L + D * V) + 4 * L * S * D
    return 3 * per_token * c["batch"] * S


def tokens_per_step(c):
    return c["batch"] * c["seq"]

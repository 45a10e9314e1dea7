#!/usr/bin/env python3
"""Writes Megatron's tensor-parallel split into a model as weft.sharding
annotations, a starting point for hand-written ones (docs/parallelism.md,
"User annotations"): q/k/v and the first MLP projection by column (their
weight's dim 1, their bias's dim 0), the attention output and the second MLP
projection by row (dim 0). Parameters are matched by name, as the generators
name them (h.N.attn.q_proj.weight, layer.N.mlp.fc.bias, fc0.weight, ...).

Usage: scripts/annotate.py model.mlir > annotated.mlir
"""
import re
import sys

MEGATRON = [(r"attn\.[qkv]_proj\.weight", "tp:1"), (r"attn\.[qkv]_proj\.bias", "tp:0"),
            (r"attn\.o_proj\.weight", "tp:0"), (r"mlp\.fc\.weight", "tp:1"),
            (r"mlp\.fc\.bias", "tp:0"), (r"mlp\.proj\.weight", "tp:0"),
            (r"fc0\.weight", "tp:1"), (r"fc0\.bias", "tp:0"), (r"fc1\.weight", "tp:0")]


def annotate(text):
    """The model text with a weft.sharding after each matching weft.param."""
    for pattern, sharding in MEGATRON:
        text = re.sub(r'(weft\.param = "(?:[\w.]*\.)?%s")' % pattern,
                      r'\1, weft.sharding = "%s"' % sharding, text)
    return text


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.stdout.write(annotate(open(sys.argv[1]).read()))

"""Compares two weft-run results, PREFIX.npz and PREFIX.safetensors, bit for
bit: prints "loss equal" and one "NAME SHAPE equal" per tensor, or "differ"."""
import json
import struct
import sys

import numpy as np


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: (v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


a, b = sys.argv[1], sys.argv[2]
la, lb = np.load(a + ".npz")["loss"], np.load(b + ".npz")["loss"]
print("loss", "equal" if la.tobytes() == lb.tobytes() else f"differ: {la} {lb}")
ta, tb = tensors(a + ".safetensors"), tensors(b + ".safetensors")
for name in sorted(set(ta) | set(tb)):
    same = name in ta and name in tb and ta[name] == tb[name]
    shape = ta.get(name, tb.get(name))[0]
    print(name, shape, "equal" if same else "differ")

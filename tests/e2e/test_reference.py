#!/usr/bin/env python3
"""Self-checks of the NumPy oracle (reference.py) and the safetensors module,
runnable without Weft: python3 tests/e2e/test_reference.py"""
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as ref  # noqa: E402
import safetensors_np as st  # noqa: E402
from test_forward import random_inputs, random_params, read_signature  # noqa: E402
from checks import run_checks  # noqa: E402

EXAMPLES = os.path.join(HERE, "..", "..", "examples")
RNG = np.random.default_rng(0)


def close(a, b, tol=1e-12):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    err = np.max(np.abs(a - b), initial=0.0)
    assert err <= tol, f"max abs diff {err:.3e} > {tol:.0e}" + (f"\n{a}\n{b}" if a.size <= 8 else "")


# --- building blocks against hand-computed values --------------------------------

def check_softmax():
    close(ref.softmax(np.array([1.0, 2.0, 3.0])),
          [0.09003057317038046, 0.24472847105479767, 0.6652409557748219])
    close(ref.softmax(np.array([[1000.0, 1000.0], [-1000.0, 0.0]])), [[0.5, 0.5], [0.0, 1.0]])


def check_layer_norm():
    x = np.array([1.0, 2.0, 3.0, 4.0])  # mean 2.5, biased var 1.25, eps 1e-5
    unit = [-1.34163541996892698, -0.44721180665630899, 0.44721180665630899, 1.34163541996892698]
    close(ref.layer_norm(x, np.ones(4), np.zeros(4)), unit)
    g, b = np.array([2.0, -1.0, 0.5, 3.0]), np.array([0.1, 0.2, 0.3, 0.4])
    close(ref.layer_norm(x, g, b), np.array(unit) * g + b)
    y = RNG.standard_normal((3, 5, 16))  # per row: LN(7y + 3, 49 eps) = LN(y, eps)
    close(ref.layer_norm(7 * y + 3, np.ones(16), np.zeros(16), eps=49e-5),
          ref.layer_norm(y, np.ones(16), np.zeros(16)), 1e-12)


def check_gelu():
    close(ref.gelu_exact(np.array([-1.0, 0.0, 1.0])),
          [-0.15865525393145707, 0.0, 0.8413447460685429])
    close(ref.gelu_tanh(np.array([0.0, 1.0])), [0.0, 0.8411919906082768])
    x = np.linspace(-6, 6, 121)
    close(ref.gelu_tanh(x), ref.gelu_exact(x), 1e-3)  # the approximation is close
    assert np.max(np.abs(ref.gelu_tanh(x) - ref.gelu_exact(x))) > 1e-5  # but not equal


def check_cross_entropy():
    for v in (2, 16, 128):
        logits = np.full((4, 3, v), 0.7)
        close(ref.cross_entropy(logits, RNG.integers(0, v, (4, 3))), math.log(v))
    close(ref.cross_entropy(np.array([[0.0, math.log(3.0)]]), np.array([1])), math.log(4 / 3))
    x, y = RNG.standard_normal((5, 7)), RNG.integers(0, 7, 5)
    close(ref.cross_entropy(x + 100.0, y), ref.cross_entropy(x, y), 1e-10)  # shift invariant


def check_attention():
    q, k, v = (RNG.standard_normal((2, 3, 5, 4)) for _ in range(3))
    out = ref.attention(q, k, v, causal=True)
    close(out[:, :, 0], v[:, :, 0])  # position 0 sees only key 0
    close(ref.attention(np.zeros_like(q), k, v, causal=True)[:, :, -1], v.mean(axis=2))
    close(ref.attention(q, np.zeros_like(k), v, causal=False),
          np.broadcast_to(v.mean(axis=2, keepdims=True), v.shape))
    # Scores are scaled by 1/sqrt(Dh): two keys whose dot products differ by 2 * sqrt(Dh) = 4.
    q1 = np.zeros((1, 1, 1, 4)); q1[..., 0] = 1.0
    k1 = np.zeros((1, 1, 2, 4)); k1[0, 0, 1, 0] = 4.0
    v1 = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    close(ref.attention(q1, k1, v1, causal=False)[0, 0, 0, 0], math.exp(2) / (1 + math.exp(2)))


def check_head_split():
    """Head h uses columns h*Dh:(h+1)*Dh of the q/k/v projections and rows of o_proj."""
    b, s, d, heads = 2, 5, 12, 3
    dh = d // heads
    params = {f"a.{n}.{w}": RNG.standard_normal((d, d) if w == "weight" else (d,)) * 0.3
              for n in ("q_proj", "k_proj", "v_proj", "o_proj") for w in ("weight", "bias")}
    x = RNG.standard_normal((b, s, d))
    p = ref.Params(params)
    got = ref.self_attention(p, x, "a", heads, causal=True)
    proj = {n: x @ params[f"a.{n}.weight"] + params[f"a.{n}.bias"] for n in ("q_proj", "k_proj", "v_proj")}
    want = params["a.o_proj.bias"].copy()
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        qh, kh, vh = (proj[n][:, None, :, cols] for n in ("q_proj", "k_proj", "v_proj"))
        want = want + ref.attention(qh, kh, vh, True)[:, 0] @ params["a.o_proj.weight"][cols]
    close(got, want, 1e-12)


# --- models ------------------------------------------------------------------------

def check_mlp_by_hand():
    params = {"fc0.weight": np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]]),
              "fc0.bias": np.array([0.5, 0.5, 0.5]),
              "head.weight": np.array([[2.0, -1.0], [1.0, 1.0], [1.0, 1.0]]),
              "head.bias": np.array([0.0, 0.5])}
    out = ref.mlp(params, {"x": np.array([[1.0, -2.0]]), "labels": np.array([0])})
    close(out["logits"], [[1.0, 0.0]])  # relu([0.5, -1.5, -4.5]) @ head + bias
    close(out["loss"], math.log(1 + math.exp(-1)))


def check_lstm_zero_weights():
    v, e, h, layers = 10, 6, 4, 2
    params = {"embedding": RNG.standard_normal((v, e)),
              "head.weight": RNG.standard_normal((h, v)), "head.bias": RNG.standard_normal(v)}
    for l in range(layers):
        params.update({f"lstm.{l}.w_ih": np.zeros((e if l == 0 else h, 4 * h)),
                       f"lstm.{l}.w_hh": np.zeros((h, 4 * h)), f"lstm.{l}.bias": np.zeros(4 * h)})
    labels = RNG.integers(0, v, (3, 5))
    out = ref.lstm_lm(params, {"tokens": RNG.integers(0, v, (3, 5)), "labels": labels})
    close(out["logits"], np.broadcast_to(params["head.bias"], (3, 5, v)))  # h = 0 everywhere
    close(out["loss"], ref.cross_entropy(out["logits"], labels))


def check_lstm_by_hand():
    """One unit, two steps, worked with scalar math: gates i, f, g, o in that order."""
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    w_ih, w_hh, bias = [0.2, 0.3, -0.4, 0.5], [0.7, -0.6, 0.9, 0.4], [0.1, 0.0, 0.2, -0.1]
    params = {"embedding": np.array([[0.5], [-1.0]]),
              "lstm.0.w_ih": np.array([w_ih]), "lstm.0.w_hh": np.array([w_hh]),
              "lstm.0.bias": np.array(bias),
              "head.weight": np.array([[1.0, -2.0]]), "head.bias": np.array([0.3, 0.1])}
    h = c = 0.0
    want = []
    for x in (-1.0, 0.5):  # tokens 1, 0
        a = [x * wi + h * wh + bi for wi, wh, bi in zip(w_ih, w_hh, bias)]
        c = sig(a[1]) * c + sig(a[0]) * math.tanh(a[2])
        h = sig(a[3]) * math.tanh(c)
        want.append([h + 0.3, -2 * h + 0.1])
    out = ref.lstm_lm(params, {"tokens": np.array([[1, 0]]), "labels": np.array([[0, 1]])})
    close(out["logits"], [want])


def _perturbed(kind, path, heads, pos):
    sig = read_signature(path)
    params, inputs = random_params(sig, RNG), random_inputs(sig, RNG)
    base = ref.MODELS[kind](params, inputs, heads)["logits"]
    tokens = inputs["tokens"].copy()
    tokens[:, pos] = (tokens[:, pos] + 1) % sig["outputs"]["logits"][0][-1]
    moved = ref.MODELS[kind](params, dict(inputs, tokens=tokens), heads)["logits"]
    return np.abs(moved - base).max(axis=(0, 2))  # change per position


def check_gpt_is_causal():
    change = _perturbed("gpt", os.path.join(EXAMPLES, "gpt_tiny.mlir"), 8, pos=10)
    assert np.all(change[:10] == 0) and np.all(change[10:] > 0), change


def check_bert_is_bidirectional():
    change = _perturbed("bert", os.path.join(EXAMPLES, "bert_tiny.mlir"), 8, pos=10)
    assert np.all(change > 0), change


def gpt_shapes(vocab, seq, d, layers, ffn):
    shapes = {"wte": (vocab, d), "wpe": (seq, d)}
    for l in range(layers):
        p = f"h.{l}."
        shapes.update({p + "ln_1.weight": (d,), p + "ln_1.bias": (d,)})
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes.update({p + f"attn.{n}.weight": (d, d), p + f"attn.{n}.bias": (d,)})
        shapes.update({p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                       p + "mlp.fc.weight": (d, ffn), p + "mlp.fc.bias": (ffn,),
                       p + "mlp.proj.weight": (ffn, d), p + "mlp.proj.bias": (d,)})
    shapes.update({"ln_f.weight": (d,), "ln_f.bias": (d,)})
    return shapes


def check_gpt_parameter_count():
    tiny = read_signature(os.path.join(EXAMPLES, "gpt_tiny.mlir"))["params"]
    assert gpt_shapes(128, 32, 64, 2, 256) == {k: v[0] for k, v in tiny.items()}
    small = gpt_shapes(50257, 1024, 768, 12, 3072)  # GPT-2 small
    assert sum(math.prod(s) for s in small.values()) == 124_439_808
    params = {k: np.zeros(s) for k, s in gpt_shapes(11, 4, 8, 3, 16).items()}
    _, unused = ref.forward("gpt", params, {"tokens": np.zeros((1, 4), np.int32),
                                            "labels": np.zeros((1, 4), np.int32)}, heads=2)
    assert unused == [], unused


def check_examples_shapes_and_coverage():
    """Every parameter is read, the outputs have the declared shapes, and with the
    init-like scale of the examples the loss starts near log(classes)."""
    for name, heads in (("mlp", None), ("lstm_lm", None), ("bert_tiny", 8), ("gpt_tiny", 8)):
        path = os.path.join(EXAMPLES, name + ".mlir")
        sig = read_signature(path)
        params, inputs = random_params(sig, RNG), random_inputs(sig, RNG)
        out, unused = ref.forward(ref.model_kind(path), params, inputs, heads)
        assert unused == [], (name, unused)
        assert out["logits"].shape == sig["outputs"]["logits"][0], name
        assert np.ndim(out["loss"]) == 0 and np.isfinite(out["loss"]), name
        classes = sig["outputs"]["logits"][0][-1]
        assert abs(out["loss"] - math.log(classes)) < 1.5, (name, out["loss"])


def check_model_kind():
    assert [ref.model_kind(p) for p in ("a/mlp.mlir", "lstm_lm.mlir", "bert_tiny.mlir",
                                        "x/gpt_tiny.mlir")] == ["mlp", "lstm_lm", "bert", "gpt"]


# --- safetensors ----------------------------------------------------------------------

def check_safetensors_round_trip():
    tensors = {"w": RNG.standard_normal((3, 4)).astype(np.float32),
               "ids": np.arange(-3, 5, dtype=np.int32).reshape(2, 4),
               "big": np.array([2**40, -1], dtype=np.int64),
               "scalar": np.array(1.5, dtype=np.float32), "empty": np.zeros((0, 3), np.float32)}
    blob = st.dumps(tensors, {"format": "np"})
    back, meta = st.loads(blob, with_metadata=True)
    assert meta == {"format": "np"} and set(back) == set(tensors)
    for k, a in tensors.items():
        assert back[k].dtype == a.dtype and back[k].shape == a.shape and np.array_equal(back[k], a), k
    # Layout: u64 LE header length, JSON header, data aligned to 8 and packed.
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    assert (8 + n) % 8 == 0 and header["w"]["dtype"] == "F32" and header["w"]["shape"] == [3, 4]
    begin, end = header["ids"]["data_offsets"]
    assert blob[8 + n + begin:8 + n + end] == tensors["ids"].astype("<i4").tobytes()
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"weft_st_{os.getpid()}.safetensors")
    try:
        st.save(path, tensors)
        assert np.array_equal(st.load(path)["w"], tensors["w"])
    finally:
        os.remove(path)


def check_safetensors_hand_built():
    """A file written byte by byte from the format description, BF16 included."""
    data = struct.pack("<2f", 1.0, -2.5) + struct.pack("<2H", 0x3FC0, 0xC000)  # bf16 1.5, -2
    header = json.dumps({"b": {"dtype": "BF16", "shape": [2], "data_offsets": [8, 12]},
                         "__metadata__": {"k": "v"},
                         "a": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]}}).encode()
    t = st.loads(struct.pack("<Q", len(header)) + header + data)
    assert np.array_equal(t["a"], [[1.0, -2.5]]) and np.array_equal(t["b"], [1.5, -2.0])
    bad = json.dumps({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    try:
        st.loads(struct.pack("<Q", len(bad)) + bad + data[:8])
    except ValueError:
        pass
    else:
        raise AssertionError("a range too short for its shape was accepted")


def main():
    return run_checks(globals(), width=32)


if __name__ == "__main__":
    sys.exit(main())

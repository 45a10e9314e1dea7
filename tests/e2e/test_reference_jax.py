#!/usr/bin/env python3
"""Self-checks of the training oracle (reference_jax.py) and of test_train.py's
comparison, runnable without Weft: python3 tests/e2e/test_reference_jax.py"""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import jax  # noqa: E402
import reference as ref  # noqa: E402
import reference_jax as rj  # noqa: E402
import test_train  # noqa: E402
from test_forward import random_inputs, random_params, read_signature  # noqa: E402
from checks import run_checks  # noqa: E402

EXAMPLES = os.path.join(HERE, "..", "..", "examples")
# (kind, example, heads, [(parameter, row or None) for the finite differences])
MODELS = [("mlp", "mlp", None, [("fc0.weight", None), ("fc1.bias", None), ("head.weight", None)]),
          ("lstm_lm", "lstm_lm", None, [("embedding", "token"), ("lstm.0.w_hh", None),
                                        ("lstm.1.bias", None)]),
          ("gpt", "gpt_tiny", 8, [("wte", "token"), ("h.0.attn.q_proj.weight", None),
                                  ("h.1.ln_2.weight", None), ("wpe", None)]),
          ("bert", "bert_tiny", 8, [("embeddings.word", "token"), ("mlm.ln.bias", None),
                                    ("layer.1.attn.v_proj.bias", None),
                                    ("layer.0.mlp.fc.weight", None)])]


def example(kind, name, seed=0):
    sig = read_signature(os.path.join(EXAMPLES, name + ".mlir"))
    rng = np.random.default_rng(seed)
    return sig, random_params(sig, rng), random_inputs(sig, rng), rng


def close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    err = np.max(np.abs(a - b), initial=0.0)
    assert err <= tol, f"max abs diff {err:.3e} > {tol:.0e}" + (f": {a} {b}" if a.size <= 8 else "")


# --- the models -------------------------------------------------------------------

def check_forward_matches_numpy_reference():
    for kind, name, heads, _ in MODELS:
        _, params, inputs, _ = example(kind, name)
        want, unused = ref.forward(kind, params, inputs, heads)
        got = rj.forward(kind, params, inputs, heads)
        assert not unused, unused
        for k in ("loss", "logits"):
            scale = max(np.max(np.abs(want[k])), 1.0)
            close(got[k] / scale, want[k] / scale, 1e-10)


def check_grad_against_finite_differences():
    """jax.grad of the jax model against central differences of the NumPy model."""
    h = 1e-5
    for kind, name, heads, picks in MODELS:
        _, params, inputs, rng = example(kind, name, seed=1)
        params = {k: v.astype(np.float64) for k, v in params.items()}
        grads = jax.grad(rj.loss_fn(kind, heads))(params, inputs)
        for pname, where in picks:
            shape = params[pname].shape
            for _ in range(2):
                idx = tuple(int(rng.integers(0, n)) for n in shape)
                if where == "token":  # an embedding row that the batch uses
                    idx = (int(rng.choice(inputs["tokens"].ravel())),) + idx[1:]
                loss = []
                for sign in (1, -1):
                    p = dict(params, **{pname: params[pname].copy()})
                    p[pname][idx] += sign * h
                    loss.append(ref.forward(kind, p, inputs, heads)[0]["loss"])
                fd, g = (loss[0] - loss[1]) / (2 * h), float(grads[pname][idx])
                tol = 2e-10 + 1e-6 * abs(g)
                assert abs(fd - g) <= tol and g != 0.0, \
                    f"{kind} {pname}{list(idx)}: jax.grad {g:.10e}, finite difference {fd:.10e}"


def check_train_steps_and_batches():
    """Step i's loss is batch i % n's before the update; step 0 sees the initial weights."""
    _, params, _, rng = example("mlp", "mlp")
    sig = read_signature(os.path.join(EXAMPLES, "mlp.mlir"))
    batches = [random_inputs(sig, rng) for _ in range(3)]
    losses, final = rj.train("mlp", params, batches, 7, "sgd", {"lr": 0.0})
    close(losses, [ref.mlp(params, batches[i % 3])["loss"] for i in range(7)], 1e-12)
    assert sorted(final) == sorted(list(params) + ["optimizer.step"] +
                                   [f"optimizer.momentum.{k}" for k in params])
    assert final["optimizer.step"] == 7.0
    # Two SGD steps by hand from jax.grad: lr 0.1, momentum 0.5, weight decay 0.01.
    grad = jax.grad(rj.loss_fn("mlp"))
    p0 = {k: v.astype(np.float64) for k, v in params.items()}
    g0 = {k: np.asarray(v) + 0.01 * p0[k] for k, v in grad(p0, batches[0]).items()}
    p1 = {k: p0[k] - 0.1 * g0[k] for k in p0}
    g1 = {k: np.asarray(v) + 0.01 * p1[k] for k, v in grad(p1, batches[1]).items()}
    buf = {k: 0.5 * g0[k] + g1[k] for k in p0}
    losses, final = rj.train("mlp", params, batches, 2, "sgd",
                             {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01})
    for k in p0:
        close(final[k], p1[k] - 0.1 * buf[k], 1e-12)
        close(final["optimizer.momentum." + k], buf[k], 1e-12)
    close(losses[1], ref.mlp(p1, batches[1])["loss"], 1e-12)


def check_adamw_reduces_loss_on_a_repeated_batch():
    """At every step, and by 5% at least (the LSTM is the slowest: 4.17 -> 3.84)."""
    for kind, name, heads, _ in MODELS:
        _, params, inputs, _ = example(kind, name)
        losses, _ = rj.train(kind, params, [inputs], 20, "adamw",
                             {"lr": 3e-3, "weight_decay": 0.01}, heads)
        assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.95 * losses[0], \
            (kind, losses)


# --- the update rules against hand-worked numbers ------------------------------------

def check_adamw_two_steps_by_hand():
    """p = 1, gradients 0.5 then -0.25; lr 0.1, weight decay 0.01, betas 0.9/0.999, eps 1e-8."""
    hp = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
    p, m, v = rj.adamw_update(1.0, 0.5, 0.0, 0.0, 1, **hp)
    # m = 0.1 * 0.5, v = 0.001 * 0.25; corrected: 0.5 and 0.25; p = 0.999 - 0.1 * 0.5 / (0.5 + eps)
    close([m, v], [0.05, 0.00025], 1e-16)
    close(p, 0.999 - 0.05 / 0.50000001, 1e-15)
    close(p, 0.899, 1e-8)  # the first step is lr * sign(g)
    p, m, v = rj.adamw_update(p, -0.25, m, v, 2, **hp)
    # m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
    # corrected: m / 0.19, v / 0.001999; p = 0.999 p - 0.1 * 0.10526315789 / (0.39522538 + eps)
    close([m, v], [0.02, 0.00031225], 1e-16)
    close(p, 0.999 * (0.999 - 0.05 / 0.50000001)
          - 0.1 * (0.02 / 0.19) / (math.sqrt(0.00031225 / 0.001999) + 1e-8), 1e-15)
    close(p, 0.8714673, 1e-7)


def check_adamw_constant_gradient_closed_form():
    """With a constant gradient g the corrected moments are exactly g and g^2 at every
    step, so each step moves by lr * g / (|g| + eps), whatever t is."""
    g = np.array([3.0, -0.02, 1e-4, 0.0])
    p, m, v = np.ones(4), np.zeros(4), np.zeros(4)
    for t in range(1, 11):
        p, m, v = rj.adamw_update(p, g, m, v, t, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8,
                                  weight_decay=0.0)
    close(p, 1 - 10 * 0.01 * g / (np.abs(g) + 1e-8), 1e-12)
    # Weight decay alone (g = 0): p shrinks by (1 - lr * wd) per step.
    p, m, v = np.array([2.0]), np.zeros(1), np.zeros(1)
    for t in range(1, 4):
        p, m, v = rj.adamw_update(p, 0.0, m, v, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                                  weight_decay=0.5)
    close(p, [2.0 * 0.95 ** 3], 1e-15)


def check_sgd_two_steps_by_hand():
    """p = 1, gradients 0.5 then -0.25; lr 0.1, momentum 0.9, weight decay 0.01."""
    hp = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    p, buf = rj.sgd_update(1.0, 0.5, 0.0, 1, **hp)
    close([p, buf], [0.949, 0.51], 1e-15)  # g = 0.5 + 0.01; buf = g (no momentum yet)
    p, buf = rj.sgd_update(p, -0.25, buf, 2, **hp)
    # g = -0.25 + 0.00949 = -0.24051; buf = 0.459 - 0.24051 = 0.21849; p = 0.949 - 0.021849
    close([p, buf], [0.927151, 0.21849], 1e-15)


# --- test_train.py's comparison ------------------------------------------------------

def check_comparison_catches_a_missing_weight_decay():
    sig, params, _, rng = example("mlp", "mlp")
    batches = [random_inputs(sig, rng) for _ in range(4)]
    hp = {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}
    losses, final = rj.train("mlp", params, batches, 20, "sgd", hp)
    errs = test_train.tensor_errors(losses, final, losses, final)
    assert all(e == 0.0 for e, _ in errs.values()), errs
    got = rj.train("mlp", params, batches, 20, "sgd", dict(hp, weight_decay=0.0))
    errs = test_train.tensor_errors(*got, losses, final)
    assert errs["state"][0] > 10 * test_train.TENSOR_TOL, errs


def main():
    return run_checks(globals(), width=46)


if __name__ == "__main__":
    sys.exit(main())

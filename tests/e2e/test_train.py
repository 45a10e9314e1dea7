#!/usr/bin/env python3
"""End-to-end training test: weftc --train + weft-run --steps against the jax
oracle in reference_jax.py (float64, jax.grad, hand-written AdamW and SGD).

Usage: python3 tests/e2e/test_train.py --bin BUILD/bin [--tmp DIR]

Each case starts from random float32 weights (init.safetensors) and trains 20
steps over 4 random batches (data.npz, step i uses batch i % 4). Passing means
every step's loss in report.json within a relative error of 1e-4 of the
oracle's, and every tensor of final.safetensors (the parameters, and the
optimizer state: optimizer.step, optimizer.m/v.<param> or
optimizer.momentum.<param>) within max|a - b| / max(max|b|, floor) <= 1e-3,
where the floor is 1e-6.

What keeps a correct float32 implementation from failing on rounding alone:
- AdamW runs with eps = 1e-6, not the default 1e-8. An update is
  m/(sqrt(v) + eps), so rounding noise d in a gradient moves a parameter by up
  to lr * d / eps per step. Gradients that are exactly zero in exact arithmetic
  (the attention key bias: softmax ignores a per-query constant) or happen to
  be tiny at step 1 carry noise d ~ 1e-9; with eps = 1e-8 that alone is a
  0.1 * lr step, about 1e-3 of the tensor's scale.
- Optimizer state is gradient-sized (around 1e-3; v around 1e-8), so its floor
  is 1e-3 times the largest value of its kind in the model (m, momentum), or
  1e-6 times it for v. With 1e-6, v would never be checked at all, and the m
  of the key bias would be rounding noise measured against 1e-6.
- The data come from the first seed whose trajectory is well conditioned:
  every ReLU input at least 1e-6 from 0 (closer, float32 can flip the unit),
  and the oracle itself run in float32 within a tenth of every tolerance.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
import reference_jax as rj  # noqa: E402
import safetensors_np  # noqa: E402
from test_forward import (ROOT, CaseError, random_inputs, random_params,  # noqa: E402
                          read_signature, run)

LOSS_TOL, TENSOR_TOL = 1e-4, 1e-3
STEPS, BATCHES = 20, 4
KINK_MARGIN = 1e-6   # how far every ReLU input stays from 0
STATE_FLOOR = 1e-3   # m, momentum: times the largest in the model; v: its square times
# (case name, model, attention heads, optimizer, hyperparameters)
ADAMW = {"lr": 3e-3, "weight_decay": 0.01, "eps": 1e-6}
CASES = [("gpt_tiny/adamw", "examples/gpt_tiny.mlir", 8, "adamw", ADAMW),
         ("lstm_lm/adamw", "examples/lstm_lm.mlir", None, "adamw", ADAMW),
         ("mlp/sgd", "examples/mlp.mlir", None, "sgd",
          {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4})]
FLAGS = {"lr": "--lr", "weight_decay": "--weight-decay", "momentum": "--momentum",
         "beta1": "--beta1", "beta2": "--beta2", "eps": "--eps"}


def train_flags(optimizer, hparams):
    return [f"--train={optimizer}"] + [f"{FLAGS[k]}={v!r}" for k, v in hparams.items()]


def rel(actual, expected, floor):
    """max|a - b| / max(max|b|, floor)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise CaseError(f"shape {list(actual.shape)}, expected {list(expected.shape)}")
    if not np.all(np.isfinite(actual)):
        return float("inf")
    return float(np.max(np.abs(actual - expected), initial=0.0)
                 / max(np.max(np.abs(expected), initial=0.0), floor))


def tensor_errors(got_losses, got, losses, final):
    """{'loss': (err, ''), 'params': (worst err, name), 'state': (worst err, name)},
    each error max|a - b| / max(max|b|, floor) with the floors the docstring gives."""
    loss_err = max(rel(a, b, abs(b)) for a, b in zip(got_losses, losses))
    slot = {n: n.split(".")[1] if n.startswith("optimizer.") else "param" for n in final}

    def largest(s):  # the largest |value| of one kind of state in the whole model
        return max((np.max(np.abs(v)) for n, v in final.items() if slot[n] == s), default=0.0)

    floors = {"param": 1e-6, "step": 1e-6, "m": STATE_FLOOR * largest("m"),
              "momentum": STATE_FLOOR * largest("momentum"), "v": STATE_FLOOR ** 2 * largest("v")}
    worst = {"params": (0.0, "-"), "state": (0.0, "-")}
    for name, want in final.items():
        err = rel(got[name], want, max(floors[slot[name]], 1e-30))
        group = "params" if slot[name] == "param" else "state"
        worst[group] = max(worst[group], (err, name))
    return {"loss": (loss_err, ""), **worst}


def oracle_case(sig, kind, heads, optimizer, hparams, seed):
    """(seed, params, batches, losses, final) from the first seed from `seed` on
    whose trajectory is well conditioned: 1e-6 clear of every ReLU kink, and the
    same training in float32 within a tenth of the tolerances."""
    for s in range(seed, seed + 20):
        rng = np.random.default_rng(s)
        params = random_params(sig, rng)
        batches = [random_inputs(sig, rng) for _ in range(BATCHES)]
        margins = []
        trace = (lambda t, p, b: margins.append(rj.relu_margin(p, b))) if kind == "mlp" else None
        train = lambda **kw: rj.train(kind, params, batches, STEPS, optimizer,  # noqa: E731
                                      hparams, heads, **kw)
        losses, final = train(trace=trace)
        if min(margins, default=np.inf) < KINK_MARGIN:
            continue
        errs = tensor_errors(*train(dtype=np.float32), losses, final)
        if (errs["loss"][0] <= LOSS_TOL / 10
                and max(errs["params"][0], errs["state"][0]) <= TENSOR_TOL / 10):
            return s, params, batches, losses, final
    raise CaseError(f"no seed in [{seed}, {seed + 20}) gives a well-conditioned trajectory")


def compare(work, losses, final):
    """The errors of report.json and final.safetensors against the oracle."""
    with open(os.path.join(work, "report.json")) as f:
        got_losses = json.load(f).get("losses")
    if not isinstance(got_losses, list) or len(got_losses) != STEPS:
        raise CaseError(f"report.json: 'losses' is not a list of {STEPS} numbers")
    got = safetensors_np.load(os.path.join(work, "final.safetensors"))
    missing, extra = sorted(set(final) - set(got)), sorted(set(got) - set(final))
    if missing or extra:
        raise CaseError(f"final.safetensors: missing {missing[:4]}, unexpected {extra[:4]}")
    not_f32 = [k for k, v in got.items() if v.dtype != np.float32]
    if not_f32:
        raise CaseError(f"final.safetensors: not f32: {not_f32[:4]}")
    return tensor_errors(got_losses, got, losses, final)


def report(name, errs, problem=None):
    tols = {"loss": LOSS_TOL, "params": TENSOR_TOL, "state": TENSOR_TOL}
    ok = problem is None and bool(errs) and all(e <= tols[k] for k, (e, _) in errs.items())
    cols = "  ".join(f"{k} {e:.2e}{' (' + n + ')' if n else ''}" for k, (e, n) in errs.items())
    verdict = "PASS" if ok else "FAIL" + (f"  {problem}" if problem else "")
    print(f"{name:<25} {cols or '-'}  {verdict}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="directory holding weftc and weft-run")
    ap.add_argument("--tmp", help="work directory (kept); default: a fresh temporary one")
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()
    weftc, weft_run = (os.path.join(args.bin, t) for t in ("weftc", "weft-run"))
    missing = [t for t in (weftc, weft_run) if not os.access(t, os.X_OK)]
    if missing:
        print(f"error: missing or not executable: {', '.join(missing)} "
              f"(build the project, then pass its bin directory with --bin)")
        return 1
    tmp = args.tmp or tempfile.mkdtemp(prefix="weft-train-")
    os.makedirs(tmp, exist_ok=True)
    try:  # a clear message, not three failures, where weftc predates training
        run([weftc, os.path.join(ROOT, "examples/mlp.mlir"), "--train=sgd", "--lr=0.05",
             "-o", os.path.join(tmp, "probe.weft")])
    except CaseError as e:
        print(f"error: this weftc cannot compile for training (--train=sgd): {e}")
        return 1
    passed = failed = 0
    for index, (name, model, heads, optimizer, hparams) in enumerate(CASES):
        work = os.path.join(tmp, name.replace("/", "_"))
        os.makedirs(work, exist_ok=True)
        p = lambda f: os.path.join(work, f)  # noqa: E731
        errs, problem = {}, None
        try:
            for f in ("report.json", "final.safetensors"):
                if os.path.exists(p(f)):
                    os.remove(p(f))
            mlir = os.path.join(ROOT, model)
            sig, kind = read_signature(mlir), reference.model_kind(mlir)
            seed, params, batches, losses, final = oracle_case(sig, kind, heads, optimizer,
                                                               hparams, 2000 + 100 * index)
            name += f" seed {seed}"
            safetensors_np.save(p("init.safetensors"), params)
            np.savez(p("data.npz"), **{k: np.stack([b[k] for b in batches]) for k in batches[0]})
            run([weftc, mlir, *train_flags(optimizer, hparams), "-o", p("model.weft")])
            run([weft_run, p("model.weft"), f"--backend={args.backend}", f"--steps={STEPS}",
                 f"--data={p('data.npz')}", f"--weights={p('init.safetensors')}",
                 f"--save={p('final.safetensors')}", f"--report={p('report.json')}"])
            errs = compare(work, losses, final)
        except (CaseError, OSError, ValueError, KeyError, TypeError) as e:
            problem = str(e) if isinstance(e, CaseError) else f"{type(e).__name__}: {e}"
        if report(name, errs, problem):
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

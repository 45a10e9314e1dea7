#!/usr/bin/env python3
"""End-to-end forward test: weftc + weft-run on the CPU backend against the
NumPy oracle in reference.py.

Usage: python3 tests/e2e/test_forward.py --bin BUILD/bin [--tmp DIR]

Models: the four examples and a generated 12-layer GPT-2. Each runs twice:
with random weights written to weights.safetensors, and with the weights
weft-run initialises itself (--seed=7 --save=init.safetensors), which are
also checked against the model's weft.init specs. Passing means the max
relative error, max|a - b| / max(max|b|, 1e-6), of `loss` and `logits` is at
most 1e-4.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
import safetensors_np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-4
GPT12_FLAGS = ["--generate=gpt", "--layers=12", "--hidden=64", "--heads=4",
               "--vocab=96", "--seq=16", "--batch=2"]
# (case name, model file or None for the generated one, attention heads)
MODELS = [("mlp", "examples/mlp.mlir", None),
          ("lstm_lm", "examples/lstm_lm.mlir", None),
          ("bert_tiny", "examples/bert_tiny.mlir", 8),
          ("gpt_tiny", "examples/gpt_tiny.mlir", 8),
          ("gpt12", None, 4)]
NP_TYPES = {"f32": np.float32, "i32": np.int32, "i64": np.int64}


class CaseError(Exception):
    pass


# --- the model's signature (names, shapes, init specs; never the ops) ---------

def _tensor_type(text):
    *dims, elem = text.split("x")
    return tuple(int(d) for d in dims), elem


def read_signature(path):
    """{'inputs': {name: (shape, elem)}, 'params': {name: (shape, elem, init)},
    'outputs': {name: (shape, elem)}} from @forward's argument and result markers."""
    text = open(path).read()
    head = text[text.index("func.func @forward"):]
    head = head[:head.index(") {") + 1]
    args, results = head.split(") -> (", 1)
    sig = {"inputs": {}, "params": {}, "outputs": {}}
    for m in re.finditer(r"%\w+: tensor<([^>]*)> \{(.*)\}", args):
        shape, elem = _tensor_type(m.group(1))
        attrs = m.group(2)
        if name := re.search(r'weft\.input = "([^"]+)"', attrs):
            sig["inputs"][name.group(1)] = (shape, elem)
        elif name := re.search(r'weft\.param = "([^"]+)"', attrs):
            init = re.search(r"weft\.init = \{([^}]*)\}", attrs).group(1)
            spec = {k: (v.strip('"') if v.startswith('"') else float(v))
                    for k, v in re.findall(r'(\w+) = ("[^"]*"|[-+0-9.eE]+)', init)}
            sig["params"][name.group(1)] = (shape, elem, spec)
    for m in re.finditer(r'tensor<([^>]*)> \{[^}]*weft\.output = "([^"]+)"', results):
        sig["outputs"][m.group(2)] = _tensor_type(m.group(1))
    return sig


# --- random weights and inputs -------------------------------------------------

def random_params(sig, rng):
    """Random values everywhere (no exact ones or zeros to hide bugs)."""
    out = {}
    for name, (shape, _, _) in sig["params"].items():
        if len(shape) == 1 and re.search(r"(^|\.)ln(_\w+)?\.weight$", name):
            v = 1.0 + 0.1 * rng.standard_normal(shape)  # layer-norm gamma
        elif len(shape) == 1:
            v = 0.1 * rng.standard_normal(shape)  # biases, layer-norm beta
        elif re.search(r"^(wte|wpe|embedding|embeddings\.)", name):
            v = 0.1 * rng.standard_normal(shape)
        else:
            v = 0.08 * rng.standard_normal(shape)
        out[name] = v.astype(np.float32)
    return out


def random_inputs(sig, rng):
    classes = sig["outputs"]["logits"][0][-1]  # vocabulary or number of classes
    out = {}
    for name, (shape, elem) in sig["inputs"].items():
        if elem.startswith("i"):
            out[name] = rng.integers(0, classes, size=shape).astype(NP_TYPES[elem])
        else:
            out[name] = rng.standard_normal(shape).astype(NP_TYPES[elem])
    return out


def check_init(sig, params):
    """Problems with weft-run's initial weights against the weft.init specs."""
    problems = []
    for name, (shape, _, spec) in sig["params"].items():
        v = params.get(name)
        if v is None or v.shape != shape or v.dtype != np.float32:
            problems.append(f"{name}: missing or wrong shape/dtype")
            continue
        v = v.astype(np.float64)
        dist = spec["dist"]
        if dist in ("zeros", "ones"):
            ok = np.all(v == (1.0 if dist == "ones" else 0.0))
        elif dist == "normal":
            std, mean = spec["std"], spec.get("mean", 0.0)
            ok = (abs(v.mean() - mean) <= 5 * std / np.sqrt(v.size)
                  and abs(v.std() / std - 1) <= 0.2)
        else:  # uniform
            lo, hi = spec["low"], spec["high"]
            slack = 1e-6 * (hi - lo)  # the bounds are rounded to float32
            ok = (v.min() >= lo - slack and v.max() <= hi + slack
                  and abs(v.std() / ((hi - lo) / np.sqrt(12)) - 1) <= 0.2)
        if not ok:
            problems.append(f"{name}: does not look like {spec}")
    extra = sorted(set(params) - set(sig["params"]))
    if extra:
        problems.append(f"unexpected tensors {extra}")
    return problems


# --- running the tools ----------------------------------------------------------

def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise CaseError(f"{os.path.basename(cmd[0])} timed out")
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise CaseError(f"{os.path.basename(cmd[0])} exited {r.returncode}: {' | '.join(tail)}")


def rel_err(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        raise CaseError(f"shape {list(actual.shape)}, expected {list(expected.shape)}")
    if not np.all(np.isfinite(actual)):
        return float("inf")
    return float(np.max(np.abs(actual - expected), initial=0.0)
                 / max(np.max(np.abs(expected), initial=0.0), 1e-6))


def compare(out_path, sig, params, inputs, kind, heads):
    expected, unused = reference.forward(kind, params, inputs, heads)
    if unused:
        raise CaseError(f"the reference did not read parameters {unused}")
    with np.load(out_path) as out:
        missing = [k for k in ("loss", "logits") if k not in out]
        if missing:
            raise CaseError(f"out.npz lacks {missing}")
        return {k: rel_err(out[k], np.asarray(expected[k])) for k in ("loss", "logits")}


def report(name, errs, problem=None):
    ok = problem is None and all(e <= TOLERANCE for e in errs.values())
    cols = "  ".join(f"{k} {v:.2e}" for k, v in errs.items()) or "-"
    print(f"{name:<20} {cols:<34} {'PASS' if ok else 'FAIL'}{'  ' + problem if problem else ''}",
          flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="directory holding weftc and weft-run")
    ap.add_argument("--tmp", help="work directory (kept); default: a fresh temporary one")
    args = ap.parse_args()
    weftc, weft_run = (os.path.join(args.bin, t) for t in ("weftc", "weft-run"))
    missing = [t for t in (weftc, weft_run) if not os.access(t, os.X_OK)]
    if missing:
        print(f"error: missing or not executable: {', '.join(missing)} "
              f"(build the project, then pass its bin directory with --bin)")
        return 1
    tmp = args.tmp or tempfile.mkdtemp(prefix="weft-e2e-")
    passed = failed = 0
    for index, (name, model, heads) in enumerate(MODELS):
        work = os.path.join(tmp, name)
        os.makedirs(work, exist_ok=True)
        p = lambda f: os.path.join(work, f)  # noqa: E731
        cases = [(name, "weights"), (name + "/fresh", "fresh")]
        try:
            mlir = os.path.join(ROOT, model) if model else p("model.mlir")
            if model is None:
                run([weftc, *GPT12_FLAGS, "-o", mlir])
            sig = read_signature(mlir)
            kind = reference.model_kind(mlir if model else "gpt.mlir")
            rng = np.random.default_rng(1000 + index)
            params, inputs = random_params(sig, rng), random_inputs(sig, rng)
            safetensors_np.save(p("weights.safetensors"), params)
            np.savez(p("inputs.npz"), **inputs)
            run([weftc, mlir, "-o", p("model.weft")])
        except (CaseError, OSError, ValueError) as e:
            for case, _ in cases:
                failed += 1
                report(case, {}, str(e))
            continue
        for case, mode in cases:
            errs, problem = {}, None
            try:
                for f in ("out.npz", "init.safetensors"):
                    if os.path.exists(p(f)):
                        os.remove(p(f))
                common = ["--backend=cpu", f"--inputs={p('inputs.npz')}", f"--outputs={p('out.npz')}"]
                if mode == "weights":
                    run([weft_run, p("model.weft"), *common, f"--weights={p('weights.safetensors')}"])
                    used = params
                else:
                    run([weft_run, p("model.weft"), *common, "--seed=7",
                         f"--save={p('init.safetensors')}"])
                    used = safetensors_np.load(p("init.safetensors"))
                    problems = check_init(sig, used)
                    if problems:
                        raise CaseError(f"init: {problems[0]} ({len(problems)} problems)")
                errs = compare(p("out.npz"), sig, used, inputs, kind, heads)
            except (CaseError, OSError, ValueError, KeyError) as e:
                problem = f"{type(e).__name__}: {e}" if not isinstance(e, CaseError) else str(e)
            if report(case, errs, problem):
                passed += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

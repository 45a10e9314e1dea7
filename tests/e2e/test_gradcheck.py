#!/usr/bin/env python3
"""Gradient checks: every op's gradient rule against central finite differences.

For each case, a tiny model computes loss = sum(f(params, inputs) * r) for a
fixed random r. `weftc --train=grad` compiles its gradients (outputs named
grad:<param>); plain `weftc` compiles the forward. For a few random elements
of every parameter, (loss(p + h) - loss(p - h)) / 2h, run through the forward
artifact in f32, must match the gradient.

Usage: python3 tests/e2e/test_gradcheck.py --bin build/bin [--tmp DIR] [--only NAME]
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np as st  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/bin")
ap.add_argument("--tmp", default="")
ap.add_argument("--only", default="")
ap.add_argument("--elements", type=int, default=4, help="checked elements per parameter")
args = ap.parse_args()


def t(shape, dtype="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + ("x" if shape else "") + dtype + ">"


# name -> (params {name: (shape, kind)}, inputs {name: (shape, dtype, bound)}, body, out shape)
# The body defines %y from the parameters and inputs (by name, as %name).
# kind: "any" (normal), "pos" (in [0.5, 2]), "spread" (distinct values, for max/min ties)
CASES = {}


def case(name, params, body, out, inputs=None, h=1e-2, tol=2e-2):
    CASES[name] = dict(params=params, inputs=inputs or {}, body=body, out=out, h=h, tol=tol)


S = (3, 4)
for op in ["add", "sub", "mul", "div", "max", "min"]:
    kind = "spread" if op in ("max", "min") else ("pos" if op == "div" else "any")
    # max/min: b's values sit between a's, so no pair ties within the step.
    case(op, {"a": (S, kind), "b": (S, "pos" if op == "div" else ("spread_offset" if kind == "spread" else kind))},
         f"%y = weft.{op} %a, %b : {t(S)}", S)
case("pow", {"a": (S, "pos"), "b": (S, "any")}, f"%y = weft.pow %a, %b : {t(S)}", S)
for op in ["neg", "exp", "tanh", "sigmoid", "silu", "relu"]:
    case(op, {"a": (S, "spread" if op == "relu" else "any")}, f"%y = weft.{op} %a : {t(S)}", S)
for op in ["log", "sqrt", "rsqrt"]:
    case(op, {"a": (S, "pos")}, f"%y = weft.{op} %a : {t(S)}", S)
case("gelu", {"a": (S, "any")}, f"%y = weft.gelu %a : {t(S)}", S)
case("gelu_tanh", {"a": (S, "any")}, f'%y = weft.gelu %a {{approximate = "tanh"}} : {t(S)}', S)
case("cast", {"a": (S, "any")},
     f"%c = weft.cast %a : {t(S)} to {t(S, 'f16')}\n  %y = weft.cast %c : {t(S, 'f16')} to {t(S)}",
     S, h=5e-2, tol=5e-2)
case("broadcast_in_dim", {"a": ((4,), "any"), "c": ((3, 1), "any")},
     f"%b1 = weft.broadcast_in_dim %a, dims = [1] : {t((4,))} -> {t(S)}\n"
     f"  %b2 = weft.broadcast_in_dim %c, dims = [0, 1] : {t((3, 1))} -> {t(S)}\n"
     f"  %y = weft.mul %b1, %b2 : {t(S)}", S)
case("reshape_transpose", {"a": ((2, 6), "any")},
     f"%rs = weft.reshape %a : {t((2, 6))} -> {t((2, 3, 2))}\n"
     f"  %y = weft.transpose %rs, perm = [1, 2, 0] : {t((2, 3, 2))} -> {t((3, 2, 2))}", (3, 2, 2))
case("slice", {"a": ((4, 5), "any")},
     f"%y = weft.slice %a, start = [1, 2], limit = [3, 5] : {t((4, 5))} -> {t((2, 3))}", (2, 3))
case("concat", {"a": ((2, 3), "any"), "b": ((2, 2), "any")},
     f"%y = weft.concat %a, %b dim = 1 : ({t((2, 3))}, {t((2, 2))}) -> {t((2, 5))}", (2, 5))
case("matmul", {"a": ((3, 4), "any"), "b": ((4, 5), "any")},
     f"%y = weft.matmul %a, %b : ({t((3, 4))}, {t((4, 5))}) -> {t((3, 5))}", (3, 5))
case("matmul_tb", {"a": ((3, 4), "any"), "b": ((5, 4), "any")},
     f"%y = weft.matmul %a, %b {{transpose_b = true}} : ({t((3, 4))}, {t((5, 4))}) -> {t((3, 5))}", (3, 5))
case("matmul_ta", {"a": ((4, 3), "any"), "b": ((4, 5), "any")},
     f"%y = weft.matmul %a, %b {{transpose_a = true}} : ({t((4, 3))}, {t((4, 5))}) -> {t((3, 5))}", (3, 5))
case("matmul_shared_rhs", {"a": ((2, 3, 4), "any"), "b": ((4, 5), "any")},
     f"%y = weft.matmul %a, %b : ({t((2, 3, 4))}, {t((4, 5))}) -> {t((2, 3, 5))}", (2, 3, 5))
case("matmul_shared_rhs_ta_tb", {"a": ((2, 4, 3), "any"), "b": ((5, 4), "any")},
     f"%y = weft.matmul %a, %b {{transpose_a = true, transpose_b = true}} : ({t((2, 4, 3))}, {t((5, 4))}) -> {t((2, 3, 5))}",
     (2, 3, 5))
case("matmul_batched", {"a": ((2, 3, 4), "any"), "b": ((2, 4, 5), "any")},
     f"%y = weft.matmul %a, %b : ({t((2, 3, 4))}, {t((2, 4, 5))}) -> {t((2, 3, 5))}", (2, 3, 5))
case("reduce_sum", {"a": ((3, 4, 2), "any")},
     f'%y = weft.reduce "sum" %a, dims = [1] : {t((3, 4, 2))} -> {t((3, 2))}', (3, 2))
case("reduce_mean_keep", {"a": ((3, 4, 2), "any")},
     f'%y = weft.reduce "mean" %a, dims = [0, 2] {{keep_dims = true}} : {t((3, 4, 2))} -> {t((1, 4, 1))}', (1, 4, 1))
case("reduce_max", {"a": ((3, 4), "spread")},
     f'%y = weft.reduce "max" %a, dims = [1] : {t((3, 4))} -> {t((3,))}', (3,))
case("softmax", {"a": ((3, 5), "any")}, f"%y = weft.softmax %a : {t((3, 5))}", (3, 5))
case("softmax_dim0", {"a": ((3, 5), "any")}, f"%y = weft.softmax %a {{dim = 0}} : {t((3, 5))}", (3, 5))
case("layer_norm", {"x": ((3, 6), "any"), "g": ((6,), "any"), "b": ((6,), "any")},
     f"%y = weft.layer_norm %x, %g, %b : ({t((3, 6))}, {t((6,))}, {t((6,))}) -> {t((3, 6))}", (3, 6))
case("rms_norm", {"x": ((3, 6), "any"), "g": ((6,), "any")},
     f"%y = weft.rms_norm %x, %g : ({t((3, 6))}, {t((6,))}) -> {t((3, 6))}", (3, 6))
case("embedding", {"w": ((7, 3), "any")},
     f"%y = weft.embedding %w, %ids : ({t((7, 3))}, {t((2, 4), 'i32')}) -> {t((2, 4, 3))}", (2, 4, 3),
     inputs={"ids": ((2, 4), "i32", 7)})
Q = (1, 2, 4, 3)
for causal in (False, True):
    attr = " {causal = true}" if causal else ""
    case("attention" + ("_causal" if causal else ""),
         {"q": (Q, "any"), "k": (Q, "any"), "v": (Q, "any")},
         f"%y = weft.attention %q, %k, %v{attr} : ({t(Q)}, {t(Q)}, {t(Q)}) -> {t(Q)}", Q)
case("attention_cross", {"q": ((1, 2, 3, 3), "any"), "k": (Q, "any"), "v": ((1, 2, 4, 5), "any")},
     f"%y = weft.attention %q, %k, %v {{scale = 0.7 : f32}} : ({t((1, 2, 3, 3))}, {t(Q)}, {t((1, 2, 4, 5))}) -> {t((1, 2, 3, 5))}",
     (1, 2, 3, 5))
CE = (3, 5)
CASES["cross_entropy"] = dict(
    params={"l": (CE, "any")}, inputs={"lab": ((3,), "i32", 5)}, out=None, h=1e-2, tol=2e-2,
    body=f"%loss = weft.cross_entropy %l, %lab : ({t(CE)}, {t((3,), 'i32')}) -> tensor<f32>")


def model_text(c):
    args_ = [f'%r: {t(c["out"])} {{weft.input = "r"}}'] if c["out"] else []
    for n, (shape, dtype, _) in c["inputs"].items():
        args_.append(f'%{n}: {t(shape, dtype)} {{weft.input = "{n}"}}')
    for n, (shape, _) in c["params"].items():
        args_.append(f'%{n}: {t(shape)} {{weft.param = "{n}", weft.init = {{dist = "zeros"}}}}')
    lines = [f'func.func @forward({", ".join(args_)}) -> (tensor<f32> {{weft.output = "loss", weft.loss}}) {{',
             "  " + c["body"]]
    if c["out"]:
        o = t(c["out"])
        dims = ", ".join(str(i) for i in range(len(c["out"])))
        lines += [f"  %m = weft.mul %y, %r : {o}",
                  f'  %loss = weft.reduce "sum" %m, dims = [{dims}] : {o} -> tensor<f32>']
    lines += ["  return %loss : tensor<f32>", "}"]
    return "\n".join(lines) + "\n"


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return r


def check(name, c, tmp):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    mlir = os.path.join(d, "model.mlir")
    open(mlir, "w").write(model_text(c))
    fwd, grad = os.path.join(d, "fwd.weft"), os.path.join(d, "grad.weft")
    run([f"{args.bin}/weftc", mlir, "-o", fwd])
    run([f"{args.bin}/weftc", mlir, "--train=grad", "-o", grad])
    params = {}
    for n, (shape, kind) in c["params"].items():
        if kind == "pos":
            params[n] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        elif kind.startswith("spread"):  # distinct values 0.3 apart: no ties near the step
            v = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float32)
            offset = 0.15 if kind == "spread_offset" else 0.0
            params[n] = ((v - v.mean()) * 0.3 + offset).astype(np.float32)
        else:
            params[n] = rng.standard_normal(shape).astype(np.float32)
    inputs = {}
    if c["out"]:
        inputs["r"] = rng.standard_normal(c["out"]).astype(np.float32)
    for n, (shape, dtype, bound) in c["inputs"].items():
        inputs[n] = rng.integers(0, bound, shape).astype(np.int32)
    inp = os.path.join(d, "inputs.npz")
    np.savez(inp, **inputs)

    def loss_at(p):
        w = os.path.join(d, "w.safetensors")
        st.save(w, p)
        out = os.path.join(d, "out.npz")
        run([f"{args.bin}/weft-run", fwd, f"--weights={w}", f"--inputs={inp}", f"--outputs={out}"])
        return float(np.load(out)["loss"])

    w = os.path.join(d, "w.safetensors")
    st.save(w, params)
    gout = os.path.join(d, "grads.npz")
    run([f"{args.bin}/weft-run", grad, f"--weights={w}", f"--inputs={inp}", f"--outputs={gout}"])
    grads = np.load(gout)
    worst = 0.0
    h = c["h"]
    for n, p0 in params.items():
        g = grads[f"grad:{n}"]
        assert g.shape == p0.shape, (n, g.shape, p0.shape)
        idx = rng.choice(p0.size, size=min(args.elements, p0.size), replace=False)
        for i in idx:
            plus, minus = dict(params), dict(params)
            plus[n] = p0.copy(); plus[n].flat[i] += h
            minus[n] = p0.copy(); minus[n].flat[i] -= h
            fd = (loss_at(plus) - loss_at(minus)) / (2 * h)
            an = float(g.flat[i])
            err = abs(fd - an) / (max(abs(fd), abs(an)) + 1e-2)
            worst = max(worst, err)
    return worst


def main():
    for b in ("weftc", "weft-run"):
        if not os.path.exists(os.path.join(args.bin, b)):
            print(f"missing {args.bin}/{b}: build first (scripts/build.sh)")
            return 1
    tmp = args.tmp or tempfile.mkdtemp(prefix="weft-gradcheck-")
    passed = failed = 0
    for name, c in CASES.items():
        if args.only and args.only != name:
            continue
        try:
            worst = check(name, c, tmp)
            ok = worst <= c["tol"]
            print(f"{name:26s} worst relative error {worst:.2e}  {'PASS' if ok else 'FAIL'}")
        except Exception as e:  # a crash or a compile error is a failure, with its message
            ok = False
            print(f"{name:26s} ERROR {e}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(main())

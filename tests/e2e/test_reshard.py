#!/usr/bin/env python3
"""Resharding on a 2 x 2 mesh, for real: every pair (source, target) of
shardings of a 2-D f32 tensor, where each mesh axis of the source is R
(replicated), S0, S1 (split along tensor dimension 0 or 1) or P (partial),
and each of the target R, S0 or S1, goes through weftc (weft.reshard ->
weft-reshard's collectives -> artifact) and weft-run on 4 in-process ranks,
and every rank's block is compared with NumPy's slice of the global tensor.

One model holds every pair: per source, an input carrying the 4 ranks'
source blocks stacked ([4, block], split over dp; each rank takes its tp row
with an all_slice), and per target an output stacking the ranks' target
blocks the same way (an all_gather over tp, gathered over dp by the runtime),
so output row r is rank r = d * 2 + t's block.

A partial source's blocks are integer addends whose sum over the partial
axes is the block, so every sum is exact in f32 and the comparison is exact.
Shapes: [4, 8] (every sharding divides), [4, 6] (S1,S1 does not: 6 / 4) and
[6, 4] (S0,S0 does not); a pair naming a sharding that does not divide must
fail to compile with a message saying so.

Usage: python3 tests/e2e/test_reshard.py --bin build/bin [--tmp DIR]
"""
import argparse, itertools, os, subprocess, sys, tempfile

import numpy as np

GRID = (2, 2)
SOURCE_ROLES = ["R", "S0", "S1", "P"]
TARGET_ROLES = ["R", "S0", "S1"]


def split_axes(sharding):
    """Per tensor dim, the mesh axes splitting it (the lower axis major)."""
    return [[a for a, role in enumerate(sharding) if role == f"S{d}"] for d in range(2)]


def divides(shape, sharding):
    return all(shape[d] % int(np.prod([GRID[a] for a in axes] or [1])) == 0
               for d, axes in enumerate(split_axes(sharding)))


def block(g, sharding, coord):
    """The block of global g that device `coord` holds under `sharding`
    (ignoring partial axes): row-major over the splitting axes' coordinates."""
    out = g
    for d, axes in enumerate(split_axes(sharding)):
        parts, index = 1, 0
        for a in axes:
            parts, index = parts * GRID[a], index * GRID[a] + coord[a]
        size = g.shape[d] // parts
        out = np.take(out, range(index * size, (index + 1) * size), axis=d)
    return out


def addend(local, axis, c):
    """Device c's addend along partial mesh axis `axis`: small integers that
    sum over c to `local` exactly."""
    k = (np.indices(local.shape).sum(axis=0) * (3 + axis) % 5 - 2).astype(np.float32)
    return local - (GRID[axis] - 1) * k if c == 0 else k


def local_source(g, sharding, coord):
    x = block(g, sharding, coord)
    for a, role in enumerate(sharding):
        if role == "P":
            x = addend(x, a, coord[a])
    return x


def shape_str(shape):
    return "x".join(str(d) for d in shape) + "xf32"


def module(shape, pairs):
    """One @forward: an input per source, an output per (source, target)."""
    sources = sorted({s for s, _ in pairs})
    args, outs, body, rets = [], [], [], []
    for i, s in enumerate(sources):
        b = block(np.zeros(shape), s, (0, 0)).shape
        args.append(f"%x{i}: tensor<2x{shape_str(b)}> {{weft.input = \"x{i}\", "
                    f"weft.global_shape = array<i64: 4, {b[0]}, {b[1]}>}}")
        body.append(f"  %s{i} = shard.all_slice %x{i} on @mesh grid_axes = [1] slice_axis = 0 : "
                    f"tensor<2x{shape_str(b)}> -> tensor<1x{shape_str(b)}>")
        body.append(f"  %b{i} = weft.reshape %s{i} : tensor<1x{shape_str(b)}> -> tensor<{shape_str(b)}>")
    for j, (s, t) in enumerate(pairs):
        i = sources.index(s)
        b = block(np.zeros(shape), s, (0, 0)).shape
        c = block(np.zeros(shape), t, (0, 0)).shape
        body.append(f"  %r{j} = weft.reshard %b{i} from \"{','.join(s)}\" to \"{','.join(t)}\" : "
                    f"tensor<{shape_str(b)}> -> tensor<{shape_str(c)}>")
        body.append(f"  %o{j} = weft.reshape %r{j} : tensor<{shape_str(c)}> -> tensor<1x{shape_str(c)}>")
        body.append(f"  %g{j} = shard.all_gather %o{j} on @mesh grid_axes = [1] gather_axis = 0 : "
                    f"tensor<1x{shape_str(c)}> -> tensor<2x{shape_str(c)}>")
        outs.append(f"tensor<2x{shape_str(c)}> {{weft.output = \"y{j}\", "
                    f"weft.global_shape = array<i64: 4, {c[0]}, {c[1]}>}}")
        rets.append((f"%g{j}", f"tensor<2x{shape_str(c)}>"))
    return "\n".join([
        "module attributes {weft.mesh = {dp = 2 : i64, tp = 2 : i64}} {",
        "shard.grid @mesh(shape = 2x2)",
        f"func.func @forward({', '.join(args)})",
        f"    -> ({', '.join(outs)}) {{",
        *body,
        f"  return {', '.join(r for r, _ in rets)} : {', '.join(t for _, t in rets)}",
        "}", "}", ""]), sources


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def check_shape(shape, weftc, weft_run, tmp):
    failures = []
    sources = [s for s in itertools.product(SOURCE_ROLES, repeat=2)]
    targets = [t for t in itertools.product(TARGET_ROLES, repeat=2)]
    pairs = [(s, t) for s in sources for t in targets if divides(shape, s) and divides(shape, t)]
    g = (np.arange(np.prod(shape)).reshape(shape) + 1).astype(np.float32)

    text, srcs = module(shape, pairs)
    tag = "x".join(map(str, shape))
    mlir, weft = os.path.join(tmp, f"reshard_{tag}.mlir"), os.path.join(tmp, f"reshard_{tag}.weft")
    with open(mlir, "w") as f:
        f.write(text)
    rc, out = run([weftc, mlir, "-o", weft])
    if rc:
        return [f"{tag}: weftc failed:\n{out[-3000:]}"]
    coords = [(d, t) for d in range(GRID[0]) for t in range(GRID[1])]
    inputs = {f"x{i}": np.stack([local_source(g, s, c) for c in coords]) for i, s in enumerate(srcs)}
    npz_in, npz_out = os.path.join(tmp, f"in_{tag}.npz"), os.path.join(tmp, f"out_{tag}.npz")
    np.savez(npz_in, **inputs)
    rc, out = run([weft_run, weft, f"--inputs={npz_in}", f"--outputs={npz_out}"])
    if rc:
        return [f"{tag}: weft-run failed:\n{out[-3000:]}"]
    got = np.load(npz_out)
    for j, (s, t) in enumerate(pairs):
        for r, c in enumerate(coords):
            want = block(g, t, c)
            if not np.array_equal(got[f"y{j}"][r], want):
                failures.append(f"{tag} {','.join(s)} -> {','.join(t)}: rank {r} holds\n"
                                f"{got[f'y{j}'][r]}\nnot\n{want}")
    print(f"{tag}: {len(pairs)} pairs on 4 ranks, {len(pairs) - len({f.split(':')[0] for f in failures})} exact")

    # A sharding that does not divide the tensor is a compile error naming it.
    bad = [s for s in sources if not divides(shape, s) and "P" not in s]
    for s in bad[:1]:
        # The bad sharding as the target of a replicated value.
        ok = ("R", "R")
        src_block = block(np.zeros(shape), ok, (0, 0)).shape
        text = "\n".join([
            "module attributes {weft.mesh = {dp = 2 : i64, tp = 2 : i64}} {",
            "shard.grid @mesh(shape = 2x2)",
            f"func.func @forward(%x: tensor<{shape_str(src_block)}> {{weft.input = \"x\"}})"
            f" -> (tensor<{shape_str(src_block)}> {{weft.output = \"y\"}}) {{",
            f"  %r = weft.reshard %x from \"{','.join(ok)}\" to \"{','.join(s)}\" : "
            f"tensor<{shape_str(src_block)}> -> tensor<{shape_str(src_block)}>",
            f"  return %r : tensor<{shape_str(src_block)}>", "}", "}", ""])
        path = os.path.join(tmp, f"bad_{tag}.mlir")
        with open(path, "w") as f:
            f.write(text)
        rc, out = run([weftc, path, "-o", os.path.join(tmp, "bad.weft")])
        if rc == 0 or "does not divide" not in out:
            failures.append(f"{tag}: reshard to {','.join(s)} should fail with 'does not divide':\n{out}")
        else:
            print(f"{tag}: {','.join(s)} refused: {out.strip().splitlines()[0]}")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--tmp", default="")
    args = ap.parse_args()
    weftc, weft_run = (os.path.join(args.bin, t) for t in ("weftc", "weft-run"))
    tmp = args.tmp or tempfile.mkdtemp(prefix="weft_reshard_")
    os.makedirs(tmp, exist_ok=True)
    failures = []
    for shape in [(4, 8), (4, 6), (6, 4)]:
        failures += check_shape(shape, weftc, weft_run, tmp)
    for f in failures[:20]:
        print("FAIL", f)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print("all resharding pairs exact")


if __name__ == "__main__":
    main()

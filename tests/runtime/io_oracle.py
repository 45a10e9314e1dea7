#!/usr/bin/env python3
"""The independent oracle of IoTest.cc: numpy and the reference safetensors.

  io_oracle.py make DIR    writes fixtures under DIR/in and DIR/manifest.json
  io_oracle.py check DIR   checks what the C++ side wrote under DIR/out

The manifest lists each fixture with the dtype, shape and raw little-endian
bytes (a .bin file) that a reader must produce, and each malformed fixture
with a phrase its error must contain. The C++ test reads every fixture,
writes it back under DIR/out with the same name, and adds the made.* files
that `check` knows by heart.
"""
import json
import os
import struct
import sys
import zipfile

import numpy as np
import safetensors.numpy
from safetensors import safe_open

WEFT = {"float32": "f32", "float16": "f16", "int32": "i32", "int64": "i64"}


def values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        a = rng.standard_normal(shape).astype(dtype)
        if a.size >= 4:  # bit patterns a byte-exact copy must keep
            a.flat[:4] = [np.nan, np.inf, -0.0, np.finfo(dtype).tiny]
        return a
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


class Maker:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "in"), exist_ok=True)
        os.makedirs(os.path.join(root, "out"), exist_ok=True)
        self.manifest = {"npy": [], "npz": [], "safetensors": [], "errors": []}
        self.bins = 0

    def path(self, name):
        return os.path.join(self.root, "in", name)

    def expect(self, a, dtype=None):
        """The manifest's description of array `a`, its bytes in a .bin."""
        self.bins += 1
        name = "in/expect%d.bin" % self.bins
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
        return {"dtype": dtype or WEFT[a.dtype.name], "shape": list(a.shape), "bin": name}

    def npy(self, name, a, version=None, descr=None):
        with open(self.path(name), "wb") as f:
            np.lib.format.write_array(f, a, version=version)
        if descr:  # rewrite the descr in place, e.g. '<f4' -> '=f4'
            data = open(self.path(name), "rb").read()
            old = ("'%s'" % a.dtype.str).encode()
            assert data.count(old) == 1 and len(descr) == len(a.dtype.str)
            open(self.path(name), "wb").write(data.replace(old, ("'%s'" % descr).encode()))
        self.manifest["npy"].append(dict(file="in/" + name, **self.expect(a)))

    def npz(self, name, arrays, compressed=False):
        (np.savez_compressed if compressed else np.savez)(self.path(name), **arrays)
        entries = {k: self.expect(v) for k, v in arrays.items()}
        self.manifest["npz"].append({"file": "in/" + name, "entries": entries})

    def safetensors(self, name, arrays, metadata=None):
        safetensors.numpy.save_file(arrays, self.path(name), metadata=metadata)
        tensors = {k: self.expect(v) for k, v in arrays.items()}
        self.manifest["safetensors"].append(
            {"file": "in/" + name, "tensors": tensors, "metadata": metadata or {}})

    def error(self, name, reader, phrase):
        self.manifest["errors"].append({"file": "in/" + name, "reader": reader, "expect": phrase})


def make(root):
    m = Maker(root)
    shapes = [(2, 3), (), (0,), (3, 0, 2), (7,), (2, 3, 4, 5)]
    seed = 0
    for dtype in ["float32", "float16", "int32", "int64"]:
        for shape in shapes:
            seed += 1
            name = "%s_%s.npy" % (dtype, "x".join(map(str, shape)) or "scalar")
            m.npy(name, values(dtype, shape, seed))
    for version in [(1, 0), (2, 0), (3, 0)]:
        m.npy("v%d.npy" % version[0], values("float32", (4, 5), 100), version=version)
    m.npy("native_order.npy", values("int32", (3,), 101), descr="=i4")
    m.npy("no_order.npy", values("float32", (3,), 102), descr="|f4")

    arrays = {"weights": values("float32", (8, 4), 200), "bias": values("float16", (4,), 201),
              "step": values("int64", (), 202), "empty": values("int32", (0, 5), 203)}
    m.npz("savez.npz", arrays)
    m.npz("savez_compressed.npz", arrays, compressed=True)
    m.npz("savez_large_compressed.npz", {"x": np.arange(100000, dtype=np.int64),
                                        "y": values("float32", (300, 300), 204)}, compressed=True)
    # Zip64 records, which numpy only writes past 4 GiB: shrink the limits.
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 16, 1
    try:
        m.npz("zip64.npz", {"a": values("float32", (3, 3), 205), "b": values("int32", (5,), 206)})
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits
    assert np.load(m.path("zip64.npz"))["a"].shape == (3, 3)

    m.safetensors("model.safetensors",
                  {"w": values("float32", (4, 3), 300), "h": values("float16", (5,), 301),
                   "ids": values("int32", (2, 2), 302), "count": values("int64", (), 303),
                   "none": values("float32", (0, 3), 304)},
                  metadata={"format": "np", "note": "made by io_oracle.py"})
    m.safetensors("no_metadata.safetensors", {"x": values("int64", (3,), 305)})
    # bf16: numpy has none, so write the file by hand (float32's top halves).
    bf16 = (values("float32", (3, 4), 306).view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"b": {"dtype": "BF16", "shape": [3, 4], "data_offsets": [0, 24]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(m.path("bf16.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + bf16.tobytes())
    m.manifest["safetensors"].append({"file": "in/bf16.safetensors", "metadata": {},
                                      "tensors": {"b": m.expect(bf16, dtype="bf16")}})

    # What must be refused, with a phrase of the error.
    a = values("float32", (2, 3), 400)
    np.save(m.path("fortran.npy"), np.asfortranarray(a))
    m.error("fortran.npy", "npy", "fortran_order")
    np.save(m.path("big_endian.npy"), a.astype(">f4"))
    m.error("big_endian.npy", "npy", "big-endian dtype '>f4'")
    np.save(m.path("f64.npy"), a.astype(np.float64))
    m.error("f64.npy", "npy", "unsupported dtype '<f8'")
    np.save(m.path("u8.npy"), np.arange(3, dtype=np.uint8))
    m.error("u8.npy", "npy", "unsupported dtype '|u1'")
    np.save(m.path("bool.npy"), np.ones(3, dtype=bool))
    m.error("bool.npy", "npy", "unsupported dtype '|b1'")
    np.save(m.path("structured.npy"), np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
    m.error("structured.npy", "npy", "structured dtypes")
    np.save(m.path("object.npy"), np.array([1, "a"], dtype=object), allow_pickle=True)
    m.error("object.npy", "npy", "unsupported dtype '|O'")
    np.savez(m.path("f64_entry.npz"), ok=a, bad=a.astype(np.float64))
    m.error("f64_entry.npz", "npz", "entry 'bad.npy': unsupported dtype '<f8'")
    with zipfile.ZipFile(m.path("bzip2.npz"), "w", zipfile.ZIP_BZIP2) as z:
        with z.open("x.npy", "w") as f:
            np.save(f, a)
    m.error("bzip2.npz", "npz", "compression method 12")
    with open(m.path("not_a_zip.npz"), "wb") as f:  # a file name keeps np.save from adding .npy
        np.save(f, a)
    m.error("not_a_zip.npz", "npz", "not a zip archive")
    for dtype, np_dtype in [("F64", np.float64), ("I8", np.int8), ("BOOL", np.bool_),
                            ("U8", np.uint8)]:
        name = "%s.safetensors" % dtype
        safetensors.numpy.save_file({"w": np.zeros((2, 2), dtype=np_dtype)}, m.path(name))
        m.error(name, "safetensors", "tensor 'w' has dtype %s, which is not supported" % dtype)

    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(m.manifest, f, indent=1)


def same(got, want, what):
    assert got.dtype == want.dtype, "%s: dtype %s, want %s" % (what, got.dtype, want.dtype)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    assert got.tobytes() == want.tobytes(), "%s: different values" % what


def check(root):
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    out = lambda name: os.path.join(root, "out", os.path.basename(name))
    for f in manifest["npy"]:
        same(np.load(out(f["file"])), np.load(os.path.join(root, f["file"])), out(f["file"]))
    for f in manifest["npz"]:
        with zipfile.ZipFile(out(f["file"])) as z:
            assert z.testzip() is None, out(f["file"]) + ": bad CRC"
        got, want = np.load(out(f["file"])), np.load(os.path.join(root, f["file"]))
        assert sorted(got.files) == sorted(want.files), out(f["file"])
        for k in want.files:
            same(got[k], want[k], "%s[%s]" % (out(f["file"]), k))
    for f in manifest["safetensors"]:
        path = out(f["file"])
        with safe_open(path, framework="np") as st:  # validates the header and layout
            assert (st.metadata() or {}) == f["metadata"], path + ": metadata"
            assert sorted(st.keys()) == sorted(f["tensors"]), path + ": names"
        if any(t["dtype"] == "bf16" for t in f["tensors"].values()):
            continue  # no bf16 in numpy: IoTest compares these bytes itself
        got, want = safetensors.numpy.load_file(path), safetensors.numpy.load_file(
            os.path.join(root, f["file"]))
        for k in want:
            same(got[k], want[k], "%s[%s]" % (path, k))
    assert not [n for n in os.listdir(os.path.join(root, "out")) if n.endswith(".tmp")], "a .tmp left"

    # made.*: written by IoTest.cc from tensors it built itself.
    bf16 = np.array([1.0, -2.0, 0.5, 3.140625], dtype=np.float32).reshape(2, 2)
    made = {"bf16": bf16, "scalar": np.array(7, dtype=np.int64),
            "empty": np.zeros((0, 3), dtype=np.float16),
            "\u043a\u043b\u044e\u0447": np.array([1, 2, 3], dtype=np.int32)}
    same(np.load(out("made.npy")), bf16, "made.npy")  # bf16 is written widened to float32
    npz = np.load(out("made.npz"))
    assert sorted(npz.files) == sorted(made), "made.npz: %s" % npz.files
    for k in made:
        same(npz[k], made[k], "made.npz[%s]" % k)
    with safe_open(out("made.safetensors"), framework="np") as st:
        assert st.metadata() == {"format": "pt", "source": "IoTest"}, st.metadata()
        assert sorted(st.keys()) == sorted(made)
        for k in made:
            if k != "bf16":
                same(st.get_tensor(k), made[k], "made.safetensors[%s]" % k)
    # bf16 by hand: the header entry, and the float32 values' top halves.
    raw = open(out("made.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    info = json.loads(raw[8:8 + n])["bf16"]
    assert info["dtype"] == "BF16" and info["shape"] == [2, 2], info
    begin, end = info["data_offsets"]
    want = (bf16.view(np.uint32) >> 16).astype("<u2").tobytes()
    assert raw[8 + n + begin:8 + n + end] == want, "made.safetensors[bf16]: different bytes"


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])

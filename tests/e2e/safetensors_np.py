"""A minimal safetensors reader and writer for NumPy arrays.

The format: an unsigned 64-bit little-endian header length N, then N bytes of
UTF-8 JSON mapping each tensor name to {"dtype", "shape", "data_offsets":
[begin, end]} (offsets relative to the start of the data, which follows the
header), plus an optional "__metadata__" map of strings; then the data,
little-endian, C order.
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I32": "<i4", "I64": "<i8"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def dumps(tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        dtype = _NAMES.get(a.dtype.newbyteorder("<"))
        if dtype is None:
            raise TypeError(f"{name}: unsupported dtype {a.dtype}")
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def loads(blob, with_metadata=False):
    if len(blob) < 8:
        raise ValueError("safetensors: file shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"safetensors: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        shape, dtype = tuple(info["shape"]), info["dtype"]
        if dtype not in _DTYPES and dtype != "BF16":
            raise ValueError(f"safetensors: {name} has unsupported dtype {dtype}")
        width = 2 if dtype == "BF16" else np.dtype(_DTYPES[dtype]).itemsize
        if not 0 <= begin <= end <= len(data) or end - begin != width * int(np.prod(shape)):
            raise ValueError(f"safetensors: {name}: byte range [{begin}, {end}) "
                             f"does not hold shape {list(shape)} of {dtype}")
        if dtype == "BF16":  # widen bfloat16 to float32
            arr = (np.frombuffer(data[begin:end], dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(data[begin:end], dtype=_DTYPES[dtype])
        tensors[name] = arr.reshape(shape).astype(arr.dtype.newbyteorder("="))
    return (tensors, metadata) if with_metadata else tensors


def save(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(dumps(tensors, metadata))


def load(path, with_metadata=False):
    with open(path, "rb") as f:
        return loads(f.read(), with_metadata)

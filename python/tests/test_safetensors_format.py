"""Glimpse's encoder.safetensors is a valid safetensors file, checked three ways:

1. byte for byte against the format's spec (https://github.com/huggingface/safetensors, "Format"),
   by a checker written here from the spec, independent of glimpse_encoder's reader;
2. glimpse_encoder's reader against a minimal independent reader (struct + array, no torch);
3. with the ``safetensors`` package alone, where it is installed (Debian has no package for it,
   so on a Debian machine without PyPI this one is skipped and 1–2 stand in for it).
"""

from __future__ import annotations

import json
import struct
import sys
from array import array

import pytest
import torch

from glimpse_encoder.safetensors_io import SafetensorsError, read_safetensors, read_safetensors_bytes

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in header: {keys}"
    return dict(pairs)


def check_spec(data: bytes) -> dict:
    """Asserts every rule of the spec on the raw bytes; returns the parsed header."""
    (n,) = struct.unpack("<Q", data[:8])  # u64, little-endian
    assert 8 + n <= len(data)
    raw = data[8 : 8 + n]
    assert raw[:1] == b"{", "header must start with '{'"
    body = raw.rstrip(b" ")
    assert body.endswith(b"}") and raw[len(body):] == b" " * (n - len(body)), "only spaces may pad the header"
    assert (8 + n) % 8 == 0, "the byte buffer starts 8-byte aligned (as the reference writer pads it)"
    header = json.loads(body.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), "metadata is str → str"
    spans = []
    for name, e in header.items():
        assert set(e) == {"dtype", "shape", "data_offsets"}, name
        count = 1
        for d in e["shape"]:
            count *= d
        begin, end = e["data_offsets"]
        assert end - begin == count * SIZES[e["dtype"]], name
        spans.append((begin, end))
    spans.sort()
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "no holes or overlaps"
    assert 8 + n + spans[-1][1] == len(data), "the buffer ends at the end of the file"
    return {**header, "__metadata__": meta}


def minimal_reader(data: bytes) -> dict:
    """F32 tensors as flat ``array('f')`` lists, read with nothing but the spec."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a = array("f")
        a.frombytes(data[8 + n + e["data_offsets"][0] : 8 + n + e["data_offsets"][1]])
        if sys.byteorder == "big":
            a.byteswap()
        out[name] = (e["shape"], a)
    return out


def test_glimpse_files_follow_the_spec_byte_for_byte(parity_dir, parity_cases):
    for case in parity_cases:
        data = (parity_dir / f"{case['name']}.safetensors").read_bytes()
        header = check_spec(data)
        assert header["__metadata__"]["format"] == "glimpse-encoder"
        assert all(e["dtype"] == "F32" for k, e in header.items() if k != "__metadata__")


def test_our_reader_matches_a_minimal_independent_reader(parity_dir, parity_cases):
    for case in parity_cases:
        data = (parity_dir / f"{case['name']}.safetensors").read_bytes()
        ours, metadata = read_safetensors_bytes(data)
        ref = minimal_reader(data)
        assert set(ours) == set(ref)
        for name, (shape, values) in ref.items():
            assert list(ours[name].shape) == shape, name
            assert ours[name].dtype == torch.float32
            assert ours[name].numpy().tobytes() == values.tobytes(), name  # bit-identical
        assert json.loads(metadata["encoderConfig"]) == case["encoder"]


def test_reader_rejects_files_that_break_the_spec(parity_dir, parity_cases):
    data = (parity_dir / f"{parity_cases[-1]['name']}.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    cases = {
        "truncated": data[:-4],
        "header length past the end": struct.pack("<Q", len(data)) + data[8:],
        "not a JSON object": struct.pack("<Q", 4) + b"[1] ",
    }
    name = next(k for k in header if k != "__metadata__")
    for label, mutate in {
        "overlap": lambda e: e.update(data_offsets=[e["data_offsets"][0] + 4, e["data_offsets"][1] + 4]),
        "wrong size": lambda e: e.update(shape=[*e["shape"], 2]),
        "unknown dtype": lambda e: e.update(dtype="F7"),
    }.items():
        h = json.loads(json.dumps(header))
        mutate(h[name])
        text = json.dumps(h).encode()
        text += b" " * (-(8 + len(text)) % 8)
        cases[label] = struct.pack("<Q", len(text)) + text + data[8 + n :]
    for label, bad in cases.items():
        with pytest.raises(SafetensorsError):
            read_safetensors_bytes(bad)
            pytest.fail(f"accepted a file with {label}")


def test_the_safetensors_package_reads_glimpse_files(parity_dir, parity_cases, tmp_path):
    st = pytest.importorskip("safetensors", reason="the safetensors package is not installed (Debian has none); the spec checks above cover the format")
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    for case in parity_cases:
        path = parity_dir / f"{case['name']}.safetensors"
        theirs = load_file(str(path))
        ours, metadata = read_safetensors_bytes(path.read_bytes())
        assert set(theirs) == set(ours)
        for k in ours:
            assert torch.equal(theirs[k], ours[k]), k
        with safe_open(str(path), framework="pt") as f:
            assert f.metadata() == metadata
    # And the other way: a file the package writes is read by ours (and by read_safetensors, which uses it).
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor([1, -2], dtype=torch.int64)}
    save_file(tensors, str(tmp_path / "x.safetensors"), metadata={"k": "v"})
    for reader in (read_safetensors_bytes, read_safetensors):
        got, meta = reader((tmp_path / "x.safetensors").read_bytes())
        assert meta == {"k": "v"} and all(torch.equal(got[k], tensors[k]) for k in tensors)
    assert st.__version__

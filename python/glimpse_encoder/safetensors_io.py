"""Reading safetensors files without the ``safetensors`` package.

The format (https://github.com/huggingface/safetensors, "Format" section of its README)::

    8 bytes   N, an unsigned little-endian 64-bit integer
    N bytes   a UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
              ..., "__metadata__": {str: str}} -- it starts with '{' and may be padded with spaces
    rest      the byte buffer: every tensor's little-endian, row-major bytes; offsets are relative
              to the start of this buffer, which tensors cover entirely, without holes or overlaps

Debian packages ``python3-torch`` but not ``safetensors``, so the package reads the format itself
and uses the ``safetensors`` package only where it is installed (:func:`read_safetensors`).
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Dict, List, Tuple

import torch

# The spec's dtype names -> torch dtypes and their sizes in bytes.
DTYPES: Dict[str, Tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}

#: The reference implementation refuses headers above 100 MB; so do we (a corrupt length field
#: must not make us allocate gigabytes).
MAX_HEADER_BYTES = 100_000_000


class SafetensorsError(ValueError):
    """The bytes are not a valid safetensors file; the message says where."""


def parse_header(data: bytes) -> Tuple[Dict[str, dict], Dict[str, str], int]:
    """Checks the header against the spec and returns (tensor entries, metadata, buffer start).

    Raises :class:`SafetensorsError` for anything the spec forbids: a length past the end of the
    file, a header that is not a JSON object starting with '{', unknown dtypes, offsets whose size
    does not match the shape, holes or overlaps in the byte buffer, or bytes after its end.
    """
    if len(data) < 8:
        raise SafetensorsError(f"file too short ({len(data)} bytes) for the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise SafetensorsError(f"header length {n} does not fit in a {len(data)}-byte file")
    raw = data[8 : 8 + n]
    if not raw.startswith(b"{"):
        raise SafetensorsError("header does not start with '{'")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"header is not UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError("__metadata__ must map strings to strings")
    base = 8 + n
    spans: List[Tuple[int, int, str]] = []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"tensor '{name}': entry must have exactly dtype, shape and data_offsets")
        if e["dtype"] not in DTYPES:
            raise SafetensorsError(f"tensor '{name}': unsupported dtype {e['dtype']!r}")
        shape, offsets = e["shape"], e["data_offsets"]
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise SafetensorsError(f"tensor '{name}': shape must be a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise SafetensorsError(f"tensor '{name}': data_offsets must be [begin, end]")
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        if not 0 <= begin <= end or end - begin != count * DTYPES[e["dtype"]][1]:
            raise SafetensorsError(f"tensor '{name}': data_offsets {offsets} do not hold {count} × {e['dtype']}")
        spans.append((begin, end, name))
    cursor = 0
    for begin, end, name in sorted(spans):
        if begin != cursor:
            raise SafetensorsError(f"tensor '{name}' starts at {begin}, expected {cursor} (hole or overlap)")
        cursor = end
    if base + cursor != len(data):
        raise SafetensorsError(f"byte buffer is {len(data) - base} bytes but the tensors cover {cursor}")
    return header, metadata, base


def read_safetensors_bytes(data: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Decodes a safetensors file with this module's own reader: (name -> tensor, metadata).

    Tensors are copies (they do not keep ``data`` alive). Values are converted from little-endian
    on big-endian machines.
    """
    header, metadata, base = parse_header(data)
    out: Dict[str, torch.Tensor] = {}
    for name, e in header.items():
        dtype, size = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        chunk = bytearray(data[base + begin : base + end])
        t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        if sys.byteorder == "big" and size > 1:
            t = t.view(torch.uint8).view(-1, size).flip(1).contiguous().view(dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out, metadata


def read_safetensors(data: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """(name -> tensor, metadata) of a safetensors file's bytes, validated against the spec.

    Uses the ``safetensors`` package for the tensors where it is installed; the header is always
    checked by :func:`parse_header` (the package does not return ``__metadata__`` from bytes).
    """
    header, metadata, _ = parse_header(data)
    try:
        from safetensors.torch import load  # type: ignore[import-not-found]
    except ImportError:
        return read_safetensors_bytes(data)
    tensors = load(bytes(data))
    if set(tensors) != set(header):
        raise SafetensorsError("the safetensors package and the header disagree on the tensor names")
    return tensors, metadata

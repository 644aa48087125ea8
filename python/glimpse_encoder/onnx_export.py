"""ONNX export of a ``GlimpseEncoder`` (``torch.onnx.export``; no ``onnx`` package needed).

The graph takes ``images`` [batch, channels, size, size] float32 in [0, 1] (NCHW, batch dynamic)
and returns ``embedding`` [batch, dim].
"""

from __future__ import annotations

import io
import warnings
from typing import BinaryIO, Union

import torch

from .model import GlimpseEncoder

#: Opset 13 is read by every onnxruntime since 1.6 and by most other runtimes.
DEFAULT_OPSET = 13


def export_onnx(model: GlimpseEncoder, f: Union[str, BinaryIO], opset: int = DEFAULT_OPSET) -> None:
    """Writes ``model`` (in eval mode) as ONNX to a path or a binary file object."""
    c = model.config
    model.eval()
    example = torch.rand(1, c.channels, c.input_size, c.input_size)
    # torch 1.13 warns about the Slice it emits for F.pad's pad list (a constant): harmless, and
    # the parity test runs the exported graph in ONNX Runtime.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(Constant folding - Only steps=1|The shape inference of prim::Constant)")
        torch.onnx.export(
            model, example, f,
            input_names=["images"], output_names=["embedding"],
            dynamic_axes={"images": {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=opset, do_constant_folding=True,
        )


def onnx_bytes(model: GlimpseEncoder, opset: int = DEFAULT_OPSET) -> bytes:
    """The ONNX file of ``model`` as bytes."""
    buf = io.BytesIO()
    export_onnx(model, buf, opset)
    return buf.getvalue()

"""``GlimpseEncoder``: the Glimpse encoder as a ``torch.nn.Module``, built from ``encoderConfig``.

Mirrors ``buildEncoder`` in ``shared/models/encoder.ts`` (a small ResNet, He et al. 2016)::

    x in [0, 1], [batch, channels, size, size]  (NCHW; tfjs takes NHWC)
    → 2x − 1 → stem conv3×3 → norm → ReLU
    → stages of basic blocks (conv3×3 → norm → ReLU → conv3×3 → norm, + shortcut, → ReLU)
    → global average pool → [batch, widths[-1]], or with ``poolGrid`` g > 1 an average pool to a
      g×g grid flattened in NHWC order (as tfjs's flatten) → [batch, g·g·widths[-1]]

Weights come from a Glimpse safetensors file (tfjs names such as ``enc_s2_b1_conv1/kernel``,
kernels HWIO): :mod:`glimpse_encoder.weights` maps them onto this module.
"""

from __future__ import annotations

import json
import urllib.request
from collections import OrderedDict
from os import PathLike
from typing import Any, Dict, Mapping, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from .config import EncoderConfig
from .layers import SameConv2d, make_norm
from .safetensors_io import read_safetensors
from .weights import load_tfjs_weights


class BasicBlock(nn.Module):
    """He et al. 2016's basic block, as encoder.ts's ``basicBlock`` (same layer order)."""

    def __init__(self, in_width: int, out_width: int, stride: int, norm: str, in_size: int):
        super().__init__()
        bias = norm == "none"
        self.conv1 = SameConv2d(in_width, out_width, 3, stride, bias, in_size)
        self.norm1 = make_norm(norm, out_width)
        self.conv2 = SameConv2d(out_width, out_width, 3, 1, bias, self.conv1.out_size)
        self.norm2 = make_norm(norm, out_width)
        self.out_size = self.conv2.out_size
        self.shortcut: Optional[nn.Sequential] = None
        if stride != 1 or in_width != out_width:
            self.shortcut = nn.Sequential(OrderedDict(
                conv=SameConv2d(in_width, out_width, 1, stride, bias, in_size),
                norm=make_norm(norm, out_width),
            ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class GlimpseEncoder(nn.Module):
    """The Glimpse image encoder: images [batch, channels, size, size] in [0, 1] → [batch, dim].

    Build it from a Glimpse safetensors download (:meth:`from_file`, :meth:`from_url`,
    :meth:`from_bytes`), or empty from a config (``GlimpseEncoder(config)``, random weights).
    """

    def __init__(self, config: Union[EncoderConfig, Mapping[str, Any]]):
        super().__init__()
        self.config = config if isinstance(config, EncoderConfig) else EncoderConfig.from_dict(config)
        c = self.config
        c.validate()
        self.metadata: Dict[str, str] = {}
        bias = c.norm == "none"
        self.stem = nn.Sequential(OrderedDict(
            conv=SameConv2d(c.channels, c.stem_width, 3, 1, bias, c.input_size),
            norm=make_norm(c.norm, c.stem_width),
            relu=nn.ReLU(),
        ))
        size, width = c.input_size, c.stem_width
        stages = []
        for s, w in enumerate(c.widths):
            blocks = []
            for b in range(c.blocks_per_stage[s]):
                block = BasicBlock(width, w, c.strides[s] if b == 0 else 1, c.norm, size)
                size, width = block.out_size, w
                blocks.append(block)
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        if not torch.jit.is_tracing() and (x.dim() != 4 or tuple(x.shape[1:]) != (c.channels, c.input_size, c.input_size)):
            raise ValueError(
                f"GlimpseEncoder takes [batch, {c.channels}, {c.input_size}, {c.input_size}] images in [0, 1] (NCHW), "
                f"got {list(x.shape)}; resize to {c.input_size}×{c.input_size} first"
            )
        # encoder.ts's rescaling layer: centre the [0, 1] input (no weights).
        x = self.stem(x * 2 - 1)
        for stage in self.stages:
            x = stage(x)
        g = c.pool_grid
        if g == 1:
            return x.mean(dim=(2, 3))
        # tfjs flattens [batch, g, g, channels]: channels vary fastest.
        # The cell size comes from the config, not x.shape: ONNX tracing sees shapes as tensors.
        cell = c.feature_map_side // g
        return F.avg_pool2d(x, cell, cell).permute(0, 2, 3, 1).flatten(1)

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> "GlimpseEncoder":
        """An encoder built from ``metadata['encoderConfig']`` with the tfjs-named ``tensors`` loaded."""
        raw = metadata.get("encoderConfig")
        if not raw or raw == "null":
            raise ValueError("the file's metadata has no encoderConfig: is it a Glimpse encoder export?")
        model = cls(json.loads(raw))
        load_tfjs_weights(model, tensors)
        model.metadata = dict(metadata)
        return model.eval()

    @classmethod
    def from_bytes(cls, data: bytes) -> "GlimpseEncoder":
        """An encoder from the bytes of a Glimpse ``encoder.safetensors``, in eval mode."""
        tensors, metadata = read_safetensors(data)
        return cls.from_tensors(tensors, metadata)

    @classmethod
    def from_file(cls, path: Union[str, "PathLike[str]"]) -> "GlimpseEncoder":
        """An encoder from a Glimpse ``encoder.safetensors`` file (download or ``glimpse export``)."""
        with open(path, "rb") as f:
            return cls.from_bytes(f.read())

    @classmethod
    def from_url(cls, url: str, timeout: float = 60.0) -> "GlimpseEncoder":
        """An encoder from a Glimpse server, e.g. ``http://host:8787/api/encoder/latest/encoder.safetensors``."""
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (a user-given URL is the point)
            return cls.from_bytes(r.read())

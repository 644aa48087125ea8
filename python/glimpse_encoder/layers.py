"""The two layers whose TensorFlow.js semantics differ from PyTorch's stock ones.

- ``padding: 'same'`` in TensorFlow pads *asymmetrically* when the total padding is odd: the extra
  row/column goes at the bottom/right. A 3×3 stride-2 convolution on 32 px pads (0 top, 1 bottom),
  where ``nn.Conv2d(padding=1)`` pads (1, 1) and samples a shifted grid. :class:`SameConv2d`
  computes TensorFlow's padding for its known input size.
- ``layerNormalization({axis: -1})`` on NHWC normalizes each pixel's channel vector; on NCHW that
  is a normalization over dim 1 (:class:`ChannelLayerNorm`), which ``nn.LayerNorm`` cannot express
  without permuting.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int) -> Tuple[int, int, int]:
    """TensorFlow's 'same' padding along one axis: (pad_before, pad_after, output_size).

    out = ceil(size / stride); total = max((out - 1) * stride + kernel - size, 0); the odd pixel
    goes after (TensorFlow's ``GetWindowedOutputSizeVerbose``).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class SameConv2d(nn.Conv2d):
    """``tf.layers.conv2d({padding: 'same'})`` for a square input of ``in_size`` pixels, NCHW.

    Weight layout is PyTorch's [out, in, kh, kw] (OIHW); tfjs kernels are [kh, kw, in, out] (HWIO).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, bias: bool, in_size: int):
        before, after, out = same_padding(in_size, kernel_size, stride)
        # Symmetric padding is the convolution's own; asymmetric padding is an explicit F.pad.
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=before if before == after else 0, bias=bias)
        self.in_size = in_size
        self.out_size = out
        self.explicit_pad = None if before == after else (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.explicit_pad is not None:
            x = F.pad(x, self.explicit_pad)
        return super().forward(x)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels at every pixel of an NCHW tensor (tfjs LayerNormalization, axis −1).

    y = (x − mean_c) / sqrt(var_c + eps) · weight + bias, with the biased variance, as tfjs's
    ``moments`` computes it.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        centred = x - mean
        var = centred.pow(2).mean(dim=1, keepdim=True)
        return centred * torch.rsqrt(var + self.eps) * self.weight[None, :, None, None] + self.bias[None, :, None, None]


def make_norm(kind: str, channels: int) -> nn.Module:
    """The normalization of encoder.ts's ``normLayer``: 'layer', 'batch' (inference uses the
    running statistics, as tfjs's predict does) or 'none'."""
    if kind == "layer":
        return ChannelLayerNorm(channels, eps=1e-5)
    if kind == "batch":
        # tfjs momentum 0.9 (weight of the old value) is PyTorch momentum 0.1 (weight of the new).
        return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalization '{kind}'")

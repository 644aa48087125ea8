"""tfjs weight names and layouts → ``GlimpseEncoder`` parameters.

encoder.ts names its layers ``enc_stem_conv``, ``enc_s{stage}_b{block}_{conv1|norm1|conv2|norm2}``
and ``enc_s{stage}_b{block}_short_{conv|norm}`` (stages and blocks count from 1); a weight is
``<layer>/<kind>``. Conv kernels are HWIO [kh, kw, in, out] in tfjs and OIHW in PyTorch.
"""

from __future__ import annotations

import re
from typing import Dict, Mapping, Tuple

import torch
from torch import nn

_LAYER = re.compile(r"^enc_(?:(stem)_(conv|norm)|s(\d+)_b(\d+)_(conv1|norm1|conv2|norm2|short_conv|short_norm))$")

#: tfjs weight kind → PyTorch parameter/buffer name.
_KINDS = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}


def module_name(tfjs_name: str) -> str:
    """``enc_s2_b1_short_conv/kernel`` → ``stages.1.0.shortcut.conv.weight``; ValueError if unknown."""
    layer, _, kind = tfjs_name.partition("/")
    m = _LAYER.match(layer)
    if not m or kind not in _KINDS:
        raise ValueError(f"'{tfjs_name}' is not a Glimpse encoder weight name")
    if m.group(1):
        path = f"stem.{m.group(2)}"
    else:
        stage, block, part = int(m.group(3)) - 1, int(m.group(4)) - 1, m.group(5)
        part = part.replace("short_", "shortcut.")
        path = f"stages.{stage}.{block}.{part}"
    return f"{path}.{_KINDS[kind]}"


def to_torch_layout(tfjs_name: str, t: torch.Tensor) -> torch.Tensor:
    """Conv kernels HWIO → OIHW; everything else is already in PyTorch's layout."""
    return t.permute(3, 2, 0, 1).contiguous() if tfjs_name.endswith("/kernel") else t


def load_tfjs_weights(model: nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Copies tfjs-named ``tensors`` into ``model``. Every parameter and running statistic of the
    model must be given exactly once, with its shape; an unknown or missing name is an error that
    names it (a partial load would embed with random weights)."""
    state = model.state_dict()
    wanted = {k for k in state if not k.endswith("num_batches_tracked")}
    loaded: Dict[str, Tuple[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        target = module_name(name)
        if target not in wanted:
            raise ValueError(f"weight '{name}' ({target}) does not exist in this encoder configuration")
        value = to_torch_layout(name, t.to(torch.float32))
        if tuple(value.shape) != tuple(state[target].shape):
            raise ValueError(f"weight '{name}' has shape {list(t.shape)}, the encoder needs {list(state[target].shape)} ({target})")
        loaded[target] = (name, value)
    missing = sorted(wanted - set(loaded))
    if missing:
        raise ValueError(f"the file lacks weights for {', '.join(missing)}")
    with torch.no_grad():
        for target, (_, value) in loaded.items():
            state[target].copy_(value)

"""The Glimpse federated self-supervised image encoder for PyTorch.

    from glimpse_encoder import GlimpseEncoder
    encoder = GlimpseEncoder.from_url("http://127.0.0.1:8787/api/encoder/latest/encoder.safetensors")
    embedding = encoder(images)  # images [batch, 3, 32, 32] in [0, 1] → [batch, 128]
"""

from .config import EncoderConfig
from .model import GlimpseEncoder
from .safetensors_io import SafetensorsError, read_safetensors

__all__ = ["EncoderConfig", "GlimpseEncoder", "SafetensorsError", "read_safetensors"]
__version__ = "0.1.0"

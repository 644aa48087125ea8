"""The encoder's architecture options, read from the ``encoderConfig`` of a Glimpse safetensors file.

Mirrors ``EncoderConfig`` / ``validateEncoderConfig`` in ``shared/models/encoder.ts``. Options this
package does not know are an error, not ignored: a silently different architecture would load the
weights and give wrong embeddings. When encoder.ts gains an option, add it here and in
``model.py`` and extend the parity test's cases (``test/python/parity-fixture.ts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Tuple

#: Normalization layers encoder.ts can build ('layer': LayerNormalization over channels).
NORM_KINDS = ("layer", "batch", "none")

_KEYS = {
    "inputSize": "input_size",
    "channels": "channels",
    "stemWidth": "stem_width",
    "widths": "widths",
    "strides": "strides",
    "blocksPerStage": "blocks_per_stage",
    "norm": "norm",
}
#: Options encoder.ts may leave out, with the value their absence means.
_OPTIONAL = {"poolGrid": 1}


@dataclass(frozen=True)
class EncoderConfig:
    """The architecture of a Glimpse encoder (see ``shared/models/encoder.ts``)."""

    input_size: int
    channels: int
    stem_width: int
    #: Width of each stage; the last is the embedding dimension.
    widths: Tuple[int, ...]
    #: Stride of the first block of each stage (1 or 2).
    strides: Tuple[int, ...]
    blocks_per_stage: Tuple[int, ...]
    norm: str
    #: Side of the output's average-pooling grid: 1 = global average pool, 2 = 2×2 regions flattened
    #: in NHWC order (encoder.ts's ``poolGrid``).
    pool_grid: int = 1

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "EncoderConfig":
        """Builds a config from encoder.ts's camelCase JSON; every field must be present."""
        if not isinstance(d, Mapping):
            raise ValueError(f"encoderConfig must be a JSON object, got {d!r}")
        keys = {**_KEYS, "poolGrid": "pool_grid"}
        unknown = sorted(set(d) - set(keys))
        if unknown:
            raise ValueError(
                f"encoderConfig has options this glimpse_encoder does not know: {', '.join(unknown)} "
                "(update the package to the version of the server that made the file)"
            )
        missing = sorted(set(_KEYS) - set(d))
        if missing:
            raise ValueError(f"encoderConfig lacks {', '.join(missing)}")
        c = EncoderConfig(**{keys[k]: (tuple(v) if isinstance(v, list) else v) for k, v in {**_OPTIONAL, **d}.items()})
        c.validate()
        return c

    def validate(self) -> None:
        """The checks of encoder.ts's validateEncoderConfig; raises ValueError naming the config."""
        ints = lambda xs: all(isinstance(x, int) and not isinstance(x, bool) for x in xs)  # noqa: E731
        ok = (
            ints([self.input_size, self.channels, self.stem_width])
            and self.input_size >= 8
            and self.channels >= 1
            and all(isinstance(xs, tuple) for xs in (self.widths, self.strides, self.blocks_per_stage))
            and len(self.widths) > 0
            and len(self.widths) == len(self.strides) == len(self.blocks_per_stage)
            and ints(self.widths) and ints(self.strides) and ints(self.blocks_per_stage)
            and all(w > 0 for w in [*self.widths, self.stem_width])
            and all(s in (1, 2) for s in self.strides)
            and all(b >= 1 for b in self.blocks_per_stage)
            and self.norm in NORM_KINDS
            and ints([self.pool_grid]) and self.pool_grid >= 1
            and self.feature_map_side % self.pool_grid == 0
        )
        if not ok:
            raise ValueError(f"invalid encoder config: {self}")

    @property
    def feature_map_side(self) -> int:
        """Side of the last feature map: each stride-2 stage halves it, rounding up ('same' padding)."""
        side = self.input_size
        for s in self.strides:
            side = -(-side // s) if isinstance(s, int) and s > 0 else side
        return side

    @property
    def embedding_dim(self) -> int:
        return self.widths[-1] * self.pool_grid ** 2

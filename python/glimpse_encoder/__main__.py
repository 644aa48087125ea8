"""Command line: ``python -m glimpse_encoder export-onnx IN.safetensors OUT.onnx [--opset N]``
(the Glimpse server and ``glimpse export`` call this to offer ``encoder.onnx``), and
``python -m glimpse_encoder info FILE.safetensors``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .model import GlimpseEncoder
from .onnx_export import DEFAULT_OPSET, export_onnx


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="glimpse-encoder", description="Glimpse encoder tools")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export-onnx", help="write an encoder.safetensors as ONNX")
    e.add_argument("input")
    e.add_argument("output")
    e.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    i = sub.add_parser("info", help="print the encoder's config and metadata")
    i.add_argument("input")
    args = p.parse_args(argv)
    try:
        model = GlimpseEncoder.from_file(args.input)
    except (OSError, ValueError) as err:
        print(f"glimpse-encoder: {args.input}: {err}", file=sys.stderr)
        return 1
    if args.command == "export-onnx":
        export_onnx(model, args.output, args.opset)
    else:
        print(json.dumps({"config": model.config.__dict__, "metadata": model.metadata, "embeddingDim": model.embedding_dim}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GlimpseEncoder embeds exactly like the tfjs encoder: same safetensors file, same images,
embeddings within 1e-4 (max absolute difference), for every architecture option encoder.ts has."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from glimpse_encoder import GlimpseEncoder

TOLERANCE = 1e-4


def load_case(parity_dir, case):
    s, c, n = case["encoder"]["inputSize"], case["encoder"]["channels"], case["count"]
    images = torch.frombuffer(bytearray((parity_dir / f"{case['name']}.images.f32").read_bytes()), dtype=torch.float32)
    expected = torch.frombuffer(bytearray((parity_dir / f"{case['name']}.embeddings.f32").read_bytes()), dtype=torch.float32)
    # tfjs images are NHWC; the module takes NCHW.
    return images.reshape(n, s, s, c).permute(0, 3, 1, 2).contiguous(), expected.reshape(n, case["dim"])


def test_embeddings_match_tfjs(parity_dir, parity_cases):
    report = {}
    for case in parity_cases:
        model = GlimpseEncoder.from_file(parity_dir / f"{case['name']}.safetensors")
        images, expected = load_case(parity_dir, case)
        with torch.no_grad():
            got = model(images)
        assert got.shape == expected.shape, case["name"]
        diff = (got - expected).abs().max().item()
        report[case["name"]] = {"maxAbsDiff": diff, "maxAbsValue": expected.abs().max().item()}
        assert diff < TOLERANCE, f"{case['name']}: max |torch − tfjs| = {diff:.3g}"
    # The vitest wrapper prints these figures.
    (parity_dir / "pytorch-report.json").write_text(json.dumps(report, indent=2))


def test_metadata_and_architecture(parity_dir, parity_cases):
    for case in parity_cases:
        model = GlimpseEncoder.from_file(parity_dir / f"{case['name']}.safetensors")
        assert model.embedding_dim == case["dim"]
        assert model.metadata["version"] == "7"
        assert not model.training
        assert json.loads(model.metadata["encoderConfig"]) == case["encoder"]


def test_from_url_loads_the_same_encoder(parity_dir, parity_cases):
    case = parity_cases[0]
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(parity_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{case['name']}.safetensors"
        a = GlimpseEncoder.from_url(url)
    finally:
        server.shutdown()
        server.server_close()
    b = GlimpseEncoder.from_file(parity_dir / f"{case['name']}.safetensors")
    images, _ = load_case(parity_dir, case)
    with torch.no_grad():
        assert torch.equal(a(images), b(images))


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


def test_bad_input_and_bad_files_fail_clearly(parity_dir, parity_cases):
    case = parity_cases[0]
    model = GlimpseEncoder.from_file(parity_dir / f"{case['name']}.safetensors")
    with pytest.raises(ValueError, match=r"takes \[batch, 3, 32, 32\]"):
        model(torch.rand(1, 32, 32, 3))  # NHWC by mistake
    from glimpse_encoder.safetensors_io import read_safetensors
    from glimpse_encoder.weights import load_tfjs_weights

    tensors, metadata = read_safetensors((parity_dir / f"{case['name']}.safetensors").read_bytes())
    missing = dict(tensors)
    del missing["enc_s2_b1_short_conv/kernel"]
    with pytest.raises(ValueError, match=r"lacks weights for stages\.1\.0\.shortcut\.conv\.weight"):
        GlimpseEncoder.from_tensors(missing, metadata)
    with pytest.raises(ValueError, match=r"'enc_head/kernel' is not a Glimpse encoder weight name"):
        GlimpseEncoder.from_tensors({**tensors, "enc_head/kernel": torch.zeros(1)}, metadata)
    transposed = {**tensors, "enc_stem_conv/kernel": tensors["enc_stem_conv/kernel"].permute(3, 2, 0, 1)}
    with pytest.raises(ValueError, match=r"'enc_stem_conv/kernel' has shape"):
        load_tfjs_weights(GlimpseEncoder(json.loads(metadata["encoderConfig"])), transposed)
    future = json.loads(metadata["encoderConfig"])
    future["attention"] = True
    with pytest.raises(ValueError, match="does not know: attention"):
        GlimpseEncoder.from_tensors(tensors, {**metadata, "encoderConfig": json.dumps(future)})
    with pytest.raises(ValueError, match="no encoderConfig"):
        GlimpseEncoder.from_tensors(tensors, {})


def test_onnx_export_of_every_case(parity_dir, parity_cases):
    """Writes <case>.onnx beside the fixture; the vitest wrapper runs them in onnxruntime-node
    (this package has no ONNX runtime to check them with)."""
    from glimpse_encoder.onnx_export import onnx_bytes

    for case in parity_cases:
        data = onnx_bytes(GlimpseEncoder.from_file(parity_dir / f"{case['name']}.safetensors"))
        assert len(data) > 1000
        (parity_dir / f"{case['name']}.onnx").write_bytes(data)

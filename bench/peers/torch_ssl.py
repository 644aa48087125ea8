"""PyTorch peer of Glimpse's centralized SimCLR recipe, for bench:quality's implementation-parity curve.

Same recipe as ``bench/quality`` trains in tfjs (docs/quality.md):
  encoder   python/glimpse_encoder's GlimpseEncoder (the parity-tested twin of shared/models/encoder.ts:
            TF 'same' padding done with an explicit asymmetric F.pad, channel LayerNorm, poolGrid);
  projector Dense(hidden, no bias) → BatchNorm1d (training statistics) → ReLU → Dense(out)
            (shared/models/heads.ts with headNorm 'batch');
  init      He-normal (truncated, as tfjs's heNormal) for convs and the first dense, Glorot-uniform
            for the last dense, zero biases, LayerNorm γ = 1, β = 0;
  views     random resized crop (area in [crop_lo, 1], ratio [3/4, 4/3], torchvision's
            get_params and half-pixel bilinear grid with edge clamping, as random-resized-crop.ts)
            and horizontal flip p = 0.5; no colour jitter (grayscale images); or, with --view
            shift-erase, shared/augment's GRAYSCALE_LAYOUT_VIEW: a whole-pixel shift (zero fill), the
            flip and one erased rectangle with p = --erase, no crop;
  loss      NT-Xent over 2N views, cosine / τ (shared/ssl/losses.ts); with --recon λ, plus λ·MSE of a
            linear decoder from the representation to the clean image's pooled gray level
            (shared/ssl/reconstruction.ts);
  optimizer Adam (β = 0.9, 0.999, ε = 1e-7 as tfjs), linear warm-up then cosine decay to 0
            (shared/train/lr-schedule.ts), batch 32;
  data      Fashion-MNIST train images padded 28 → 32 and tiled to RGB (shared/data/images.ts).

It does not evaluate: at each requested number of examples it writes the encoder as safetensors
with tfjs weight names (``<out>/encoder-<examples>.safetensors``), and bench/quality evaluates those
with the very code (shared/eval/protocol.ts) it evaluates tfjs encoders with — one protocol, one
implementation. Progress goes to stderr; a JSON summary (losses, seconds) to ``<out>/peer.json``.

  /usr/bin/python3 bench/peers/torch_ssl.py --out DIR --checkpoints 0,2500,5000,10000
      [--data /usr/share/datasets/fashion-mnist] [--batch 32] [--lr 1e-3] [--warmup 0.05]
      [--temperature 0.5] [--crop-lo 0.7] [--view crop|shift-erase --shift 3 --erase 0.5] [--recon 0 --recon-size 32]
      [--widths 32,64,128] [--pool-grid 2] [--seed 1] [--threads 2]

``--parity FILE.safetensors`` instead runs one forward of the weights in FILE (encoder and projector,
tfjs names) on the images stored beside it and prints the projections and NT-Xent loss as JSON,
for test/bench/torch-peer.test.ts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))
from glimpse_encoder.model import GlimpseEncoder  # noqa: E402
from glimpse_encoder.safetensors_io import read_safetensors  # noqa: E402
from glimpse_encoder.weights import load_tfjs_weights  # noqa: E402

HE_TRUNC = 0.87962566103423978  # tfjs VarianceScaling 'normal': truncated normal, stddev / this


class Projector(nn.Module):
    """heads.ts's buildMlpHead with headNorm 'batch' (tfjs BN momentum 0.9 = PyTorch 0.1)."""

    def __init__(self, dim: int, hidden: int, out: int):
        super().__init__()
        self.dense1 = nn.Linear(dim, hidden, bias=False)
        self.norm1 = nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1)
        self.dense2 = nn.Linear(hidden, out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.dense2(torch.relu(self.norm1(self.dense1(h))))


def he_normal_(w: torch.Tensor, fan_in: int) -> None:
    std = math.sqrt(2.0 / fan_in) / HE_TRUNC
    nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


def init_like_tfjs(enc: GlimpseEncoder, proj: Projector) -> None:
    for m in enc.modules():
        if isinstance(m, nn.Conv2d):
            he_normal_(m.weight, m.in_channels * m.kernel_size[0] * m.kernel_size[1])
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    he_normal_(proj.dense1.weight, proj.dense1.in_features)
    nn.init.xavier_uniform_(proj.dense2.weight)
    nn.init.zeros_(proj.dense2.bias)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """losses.ts's ntXent: 2N anchors, twin positive, the other 2(N−1) negatives, cosine / τ."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1, eps=1e-12)
    logits = z @ z.T / temperature - torch.eye(2 * n) * 1e9
    positives = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(logits, positives)


def crop_boxes(g: torch.Generator, b: int, size: int, scale, ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop.get_params for each of b images (random-resized-crop.ts's sampleCropBox)."""
    boxes = []
    area = size * size
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(b):
        for _ in range(10):
            target = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(1, generator=g).item())
            aspect = math.exp(lo + (hi - lo) * torch.rand(1, generator=g).item())
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= size and 0 < h <= size:
                top = int(torch.randint(0, size - h + 1, (1,), generator=g))
                left = int(torch.randint(0, size - w + 1, (1,), generator=g))
                boxes.append((top, left, h, w))
                break
        else:
            boxes.append((0, 0, size, size))
    return boxes


def random_view(x: torch.Tensor, g: torch.Generator, crop_lo: float) -> torch.Tensor:
    """Random resized crop (half-pixel bilinear, edges clamped) + horizontal flip, on NCHW [0, 1]."""
    b, _, s, _ = x.shape
    i = torch.arange(s, dtype=torch.float32) + 0.5
    grids = []
    for top, left, h, w in crop_boxes(g, b, s, (crop_lo, 1.0)):
        ys = top + i * h / s - 0.5  # source pixel coordinate of each output row
        xs = left + i * w / s - 0.5
        gy = (2 * ys + 1) / s - 1  # grid_sample, align_corners=False
        gx = (2 * xs + 1) / s - 1
        grids.append(torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1))
    out = F.grid_sample(x, torch.stack(grids), mode="bilinear", padding_mode="border", align_corners=False)
    flip = torch.rand(b, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    return out.clamp(0, 1)


def shift_erase_view(x: torch.Tensor, g: torch.Generator, shift: int, erase: float) -> torch.Tensor:
    """A view that keeps scale and layout: a whole-pixel translation of up to ±shift (zero fill, the
    images' background), a horizontal flip p = 0.5, and with probability `erase` one erased rectangle
    (area 2–20% of the image, aspect 0.3–3.3, set to background) — occlusion instead of cropping."""
    b, _, s, _ = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    off = torch.randint(0, 2 * shift + 1, (b, 2), generator=g)
    out = torch.stack([padded[i, :, off[i, 0] : off[i, 0] + s, off[i, 1] : off[i, 1] + s] for i in range(b)])
    flip = torch.rand(b, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    for i in (torch.rand(b, generator=g) < erase).nonzero().flatten().tolist():
        area = s * s * (0.02 + 0.18 * torch.rand(1, generator=g).item())
        aspect = math.exp(math.log(0.3) + (math.log(3.3) - math.log(0.3)) * torch.rand(1, generator=g).item())
        h, w = min(s, max(1, round(math.sqrt(area * aspect)))), min(s, max(1, round(math.sqrt(area / aspect))))
        top, left = int(torch.randint(0, s - h + 1, (1,), generator=g)), int(torch.randint(0, s - w + 1, (1,), generator=g))
        out[i, :, top : top + h, left : left + w] = 0
    return out


def view_of(a):
    """The recipe's view function view(x, g): --view crop (random resized crop of area ≥ --crop-lo +
    flip, the default) or shift-erase (shared/augment's GRAYSCALE_LAYOUT_VIEW: --shift, flip, --erase)."""
    if a.view == "shift-erase":
        return lambda x, g: shift_erase_view(x, g, a.shift, a.erase)
    return lambda x, g: random_view(x, g, a.crop_lo)


def read_idx(path: Path) -> torch.Tensor:
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(raw[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def load_train(data: Path) -> torch.Tensor:
    """Fashion-MNIST train images as model input: [60000, 3, 32, 32] uint8 (converted per batch)."""
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        if (data / name).exists():
            imgs = read_idx(data / name)
            return F.pad(imgs, (2, 2, 2, 2)).unsqueeze(1)
    raise SystemExit(f"no Fashion-MNIST train images in {data}")


def tfjs_state(enc: GlimpseEncoder) -> "OrderedDict[str, torch.Tensor]":
    """The encoder's weights under encoder.ts's names and layouts (the inverse of weights.py)."""
    kinds = {"weight": "kernel", "bias": "bias", "running_mean": "moving_mean", "running_var": "moving_variance"}
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, t in enc.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        path, _, kind = key.rpartition(".")
        parts = path.split(".")
        if parts[0] == "stem":
            layer = f"enc_stem_{parts[1]}"
        else:
            part = parts[3] if parts[3] != "shortcut" else f"short_{parts[4]}"
            layer = f"enc_s{int(parts[1]) + 1}_b{int(parts[2]) + 1}_{part}"
        is_conv = "conv" in layer.rsplit("_", 1)[-1]
        tf_kind = kinds[kind] if is_conv or kind not in ("weight", "bias") else ("gamma" if kind == "weight" else "beta")
        value = t.detach().permute(2, 3, 1, 0) if tf_kind == "kernel" else t.detach()
        out[f"{layer}/{tf_kind}"] = value.contiguous().to(torch.float32)
    return out


def write_safetensors(path: Path, tensors: "OrderedDict[str, torch.Tensor]", metadata: dict) -> None:
    header: dict = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rate(step: int, peak: float, warmup: int, total: int) -> float:
    """lr-schedule.ts's warmupCosineRate with floor 0."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * peak * (1 + math.cos(math.pi * t))


def encoder_config(a) -> dict:
    widths = [int(w) for w in a.widths.split(",")]
    return {"inputSize": 32, "channels": 3, "stemWidth": widths[0], "widths": widths, "strides": [1, 2, 2],
            "blocksPerStage": [1, 1, 1], "norm": "layer", "poolGrid": a.pool_grid}


def batches(images: torch.Tensor, batch: int, g: torch.Generator):
    """Endless model-input batches [batch, 3, 32, 32] in [0, 1], reshuffled (with g) each epoch."""
    order, cursor = torch.randperm(images.shape[0], generator=g), 0
    while True:
        if cursor + batch > order.numel():
            order, cursor = torch.randperm(images.shape[0], generator=g), 0
        yield images[order[cursor : cursor + batch]].float().div(255).expand(-1, 3, -1, -1)
        cursor += batch


def training_steps(a, enc, proj, opt, images, g, total: int, warmup: int, loss_of, view=None, decoder=None):
    """The recipe's steps: batch, warm-up + cosine rate, two views, loss_of(projections [2N, d], v1,
    v2), Adam step. Yields (step, examples seen, loss) after each; shared with recipe_sweep.py, whose
    other views come in as view(x, g) (default: the recipe's, view_of(a)). With a decoder (--recon),
    λ·MSE(decoder(h), the clean batch's pooled gray level) joins the loss (shared/ssl/reconstruction.ts)."""
    view = view or view_of(a)
    for step, x in zip(range(total), batches(images, a.batch, g)):
        for group in opt.param_groups:
            group["lr"] = rate(step, a.lr, warmup, total)
        v1, v2 = view(x, g), view(x, g)
        h = enc(torch.cat([v1, v2]))
        loss = loss_of(proj(h), v1, v2)
        if decoder is not None:
            pool = x.shape[-1] // a.recon_size
            target = (F.avg_pool2d(x.mean(1, keepdim=True), pool) if pool > 1 else x.mean(1, keepdim=True)).flatten(1)
            loss = loss + a.recon * F.mse_loss(decoder(h), torch.cat([target, target]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yield step, (step + 1) * a.batch, loss.item()


def build_model(a, cfg: dict):
    """Encoder, projector and (with --recon) the reconstruction decoder, initialized as tfjs does,
    in training mode, and their parameters."""
    enc = GlimpseEncoder(cfg)
    proj = Projector(enc.embedding_dim, a.hidden, a.proj_dim)
    init_like_tfjs(enc, proj)
    enc.train()
    proj.train()
    decoder = None
    if a.recon:  # reconstruction.ts's recon_dense: Glorot-uniform kernel, zero bias
        decoder = nn.Linear(enc.embedding_dim, a.recon_size * a.recon_size)
        nn.init.xavier_uniform_(decoder.weight)
        nn.init.zeros_(decoder.bias)
    params = list(enc.parameters()) + list(proj.parameters()) + (list(decoder.parameters()) if decoder else [])
    return enc, proj, decoder, params


def train(a) -> None:
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = encoder_config(a)
    enc, proj, decoder, params = build_model(a, cfg)
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    images = load_train(Path(a.data))
    checkpoints = sorted({int(c) for c in a.checkpoints.split(",")})
    total = max(1, round(checkpoints[-1] / a.batch))
    warmup = round(total * a.warmup)
    g = torch.Generator().manual_seed(a.seed)
    losses, t0 = [], time.time()
    meta = {"format": "glimpse-encoder", "encoderConfig": json.dumps(cfg), "method": "simclr", "peer": "torch_ssl.py"}

    def save(examples: int) -> None:
        write_safetensors(out / f"encoder-{examples}.safetensors", tfjs_state(enc), {**meta, "examples": examples})
        print(f"torch peer: {examples} examples, {time.time() - t0:.0f} s, loss {sum(losses[-20:]) / max(1, len(losses[-20:])):.3f}", file=sys.stderr, flush=True)

    if checkpoints[0] == 0:
        save(0)
    simclr = lambda z, v1, v2: nt_xent(z[: a.batch], z[a.batch :], a.temperature)  # noqa: E731
    for step, examples, loss in training_steps(a, enc, proj, opt, images, g, total, warmup, simclr, decoder=decoder):
        losses.append(loss)
        if any(c and abs(examples - c) < a.batch / 2 + 1e-9 for c in checkpoints) or step == total - 1:
            save(min(checkpoints, key=lambda c: abs(c - examples)))
    (out / "peer.json").write_text(json.dumps({"seconds": time.time() - t0, "steps": total, "batch": a.batch, "losses": losses,
                                               "threads": a.threads, "torch": torch.__version__, "encoderConfig": cfg}))


def parity(a) -> None:
    """One forward in training mode (BN batch statistics, as tfjs's training step) of given weights."""
    tensors, metadata = read_safetensors(Path(a.parity).read_bytes())
    cfg = json.loads(metadata["encoderConfig"])
    enc = GlimpseEncoder(cfg)
    load_tfjs_weights(enc, {k: v for k, v in tensors.items() if k.startswith("enc_")})
    hidden, out_dim = tensors["proj_dense1/kernel"].shape[1], tensors["proj_dense2/kernel"].shape[1]
    proj = Projector(enc.embedding_dim, hidden, out_dim)
    with torch.no_grad():
        proj.dense1.weight.copy_(tensors["proj_dense1/kernel"].T)
        proj.norm1.weight.copy_(tensors["proj_norm1/gamma"])
        proj.norm1.bias.copy_(tensors["proj_norm1/beta"])
        proj.dense2.weight.copy_(tensors["proj_dense2/kernel"].T)
        proj.dense2.bias.copy_(tensors["proj_dense2/bias"])
    n, s = int(metadata["count"]), cfg["inputSize"]
    raw = Path(a.parity).with_suffix(".images.f32").read_bytes()
    x = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(n, s, s, cfg["channels"]).permute(0, 3, 1, 2)
    enc.train()
    proj.train()
    with torch.no_grad():
        z = proj(enc(x))
        loss = nt_xent(z[: n // 2], z[n // 2 :], float(metadata["temperature"]))
    print(json.dumps({"projections": z.flatten().tolist(), "loss": loss.item(), "state_names": sorted(tfjs_state(enc))}))


def add_recipe_args(p: argparse.ArgumentParser, checkpoints: str) -> None:
    """The recipe's options, shared with recipe_sweep.py (the same defaults, the same names)."""
    p.add_argument("--checkpoints", default=checkpoints)
    p.add_argument("--data", default=os.environ.get("GLIMPSE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--crop-lo", type=float, default=0.7)
    p.add_argument("--view", choices=("crop", "shift-erase"), default="crop")
    p.add_argument("--shift", type=int, default=3, help="--view shift-erase: largest whole-pixel shift")
    p.add_argument("--erase", type=float, default=0.5, help="--view shift-erase: probability of one erased rectangle")
    p.add_argument("--recon", type=float, default=0.0, help="weight λ of the pixel-reconstruction term (0: none)")
    p.add_argument("--recon-size", type=int, default=32, help="side of the average-pooled reconstruction target")
    p.add_argument("--widths", default="32,64,128")
    p.add_argument("--pool-grid", type=int, default=2)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--proj-dim", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out")
    add_recipe_args(p, "0,2500,5000,10000")
    p.add_argument("--parity")
    a = p.parse_args()
    if a.parity:
        parity(a)
    elif a.out:
        train(a)
    else:
        p.error("give --out DIR (train) or --parity FILE")


if __name__ == "__main__":
    main()

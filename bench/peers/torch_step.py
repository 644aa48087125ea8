"""PyTorch reference for bench/step.ts: one BYOL and one SimCLR training step of the SAME
architecture and batch as Glimpse's default (shared/models/encoder.ts, shared/models/heads.ts,
shared/ssl/{byol,simclr,losses}.ts), on the CPU, without augmentation (the tfjs numbers it is
compared with exclude augmentation too).

Encoder for 32x32x3: x*2-1 -> stem conv3x3(32, no bias) -> LN(C) -> ReLU -> 3 stages (widths
32, 64, 128; strides 1, 2, 2) of one basic block each (conv3x3 -> LN -> ReLU -> conv3x3 -> LN,
shortcut identity or conv1x1 -> LN, add, ReLU) -> global average pool -> 128-d.
LN is per-position LayerNorm over channels with affine (tfjs-layers LayerNormalization axis -1).
Heads (BYOL projector and predictor, SimCLR projector; registry default headNorm 'batch'):
Dense(512, no bias) -> BatchNorm -> ReLU -> Dense(128); the BYOL target runs in training mode
like the online net (byol.ts), without gradient. Adam(1e-3). Batch 32 images -> 2 views -> 64 encoder passes (+ 64 target passes
without gradient for BYOL).

Usage: /usr/bin/python3 bench/peers/torch_step.py [--threads 2] [--batch 32] [--steps 5]
Prints one JSON object on stdout: per method the median wall ms per step, and the process CPU ms of
each step (on a machine shared with other work, single-thread CPU time is what the step costs).
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
    print(json.dumps({"error": f"torch not importable: {e}"}))
    sys.exit(0)


class ChannelLN(nn.Module):
    """LayerNorm over channels at every position of an NCHW tensor."""

    def __init__(self, c):
        super().__init__()
        self.ln = nn.LayerNorm(c, eps=1e-5)

    def forward(self, x):
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = ChannelLN(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = ChannelLN(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), ChannelLN(cout))

    def forward(self, x):
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


class Encoder(nn.Module):
    def __init__(self, stem=32, widths=(32, 64, 128), strides=(1, 2, 2)):
        super().__init__()
        self.stem = nn.Conv2d(3, stem, 3, 1, 1, bias=False)
        self.stem_norm = ChannelLN(stem)
        blocks, cin = [], stem
        for w, s in zip(widths, strides):
            blocks.append(Block(cin, w, s))
            cin = w
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        x = F.relu(self.stem_norm(self.stem(x * 2 - 1)))
        return self.blocks(x).mean(dim=(2, 3))


def mlp(din, hidden, dout, norm="batch"):
    if norm == "batch":
        return nn.Sequential(nn.Linear(din, hidden, bias=False), nn.BatchNorm1d(hidden, eps=1e-5, momentum=0.1), nn.ReLU(), nn.Linear(hidden, dout))
    if norm == "layer":
        return nn.Sequential(nn.Linear(din, hidden, bias=False), nn.LayerNorm(hidden, eps=1e-5), nn.ReLU(), nn.Linear(hidden, dout))
    return nn.Sequential(nn.Linear(din, hidden), nn.ReLU(), nn.Linear(hidden, dout))


def byol_loss(q, z):
    return (2 - 2 * F.cosine_similarity(q, z.detach(), dim=1)).mean()


def nt_xent(z1, z2, tau=0.5):
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], 0), dim=1)
    sim = z @ z.t() / tau
    sim = sim - torch.eye(2 * n) * 1e9
    pos = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(sim, pos)


def make_byol():
    enc, proj, pred = Encoder(), mlp(128, 512, 128), mlp(128, 512, 128)
    tenc, tproj = Encoder(), mlp(128, 512, 128)
    opt = torch.optim.Adam(list(enc.parameters()) + list(proj.parameters()) + list(pred.parameters()), lr=1e-3)

    def step(v1, v2):
        n = v1.shape[0]
        with torch.no_grad():
            zt = tproj(tenc(torch.cat([v1, v2], 0)))
        zt1, zt2 = zt[:n], zt[n:]
        q = pred(proj(enc(torch.cat([v1, v2], 0))))
        q1, q2 = q[:n], q[n:]
        loss = byol_loss(q1, zt2) + byol_loss(q2, zt1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def make_simclr():
    enc, proj = Encoder(), mlp(128, 512, 128)
    opt = torch.optim.Adam(list(enc.parameters()) + list(proj.parameters()), lr=1e-3)

    def step(v1, v2):
        n = v1.shape[0]
        z = proj(enc(torch.cat([v1, v2], 0)))
        loss = nt_xent(z[:n], z[n:], 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def measure(step, batch, steps):
    v1 = torch.rand(batch, 3, 32, 32)
    v2 = torch.rand(batch, 3, 32, 32)
    step(v1, v2)  # warm-up
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step(v1, v2)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    ms = statistics.median(times)
    return {"msPerStep": ms, "imagesPerSecond": batch / (ms / 1000), "stepsMs": times, "cpuMs": cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "byol": measure(make_byol(), a.batch, a.steps),
        "simclr": measure(make_simclr(), a.batch, a.steps),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

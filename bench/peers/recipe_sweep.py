"""Recipe search on the PyTorch peer: train one SimCLR/MoCo-style variant, score it on the full protocol.

bench/quality's curves are the reference (one protocol, one implementation: shared/eval/protocol.ts);
this script is the cheap loop that finds which recipe is worth such a curve. The peer is ≈ 8× faster
per step than Glimpse on this CPU, and it scores in-process so one variant costs minutes:

  kNN top-1   k = 20, cosine, exp(s / 0.07)-weighted votes (protocol.ts's knnTop1), bank = the
              60,000 training images, queries = the 10,000 test images (the full glimpse-fmnist-v1
              split, no subset), raw pixels scored the same way once per run;
  1% probe    softmax on standardized frozen features of a seeded 600-image label subset
              (Adam, 300 steps, weight decay 1e-4, as protocol.ts's linear probe), scored on the
              queries, mean of three subset seeds.

Knobs beyond torch_ssl.py's recipe (all default to it): --norm (encoder normalization), --wd
(AdamW's decoupled weight decay), --queue (MoCo v2: momentum encoder + queue of negatives,
--momentum), --contrast (the contrastive term's weight; 0 with --recon leaves reconstruction alone).

  /usr/bin/python3 bench/peers/recipe_sweep.py --name tau02 --temperature 0.2 --checkpoints 20000,60000
      [any torch_ssl.py option] [--norm layer|batch] [--wd 0] [--queue 0] [--momentum 0.99]
      --json FILE   (one JSON line per checkpoint is appended to FILE)
      [--recon 0 --recon-size 32 --contrast 1]

Every row also carries knn_top1_centered: the same kNN after subtracting the bank's mean feature
(a diagnostic of how much a shared positive mean of post-ReLU features hides; raw pixels get the same
column, so the two stay comparable). The protocol's figure is the uncentered knn_top1.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_ssl import (add_recipe_args, build_model, encoder_config, load_train, nt_xent, read_idx,  # noqa: E402
                       training_steps)


def load_split(data: Path):
    def imgs(name):
        return F.pad(read_idx(data / name), (2, 2, 2, 2)).unsqueeze(1)
    return (imgs("train-images-idx3-ubyte.gz"), read_idx(data / "train-labels-idx1-ubyte.gz").long(),
            imgs("t10k-images-idx3-ubyte.gz"), read_idx(data / "t10k-labels-idx1-ubyte.gz").long())


@torch.no_grad()
def embed(enc, images: torch.Tensor, batch: int = 128) -> torch.Tensor:
    enc.eval()
    out = [enc(images[i : i + batch].float().div(255).expand(-1, 3, -1, -1)) for i in range(0, images.shape[0], batch)]
    enc.train()
    return torch.cat(out)


@torch.no_grad()
def knn_top1(bank, bank_y, queries, query_y, k=20, t=0.07, classes=10) -> float:
    bank, queries = F.normalize(bank, dim=1), F.normalize(queries, dim=1)
    correct = 0
    for i in range(0, queries.shape[0], 500):
        s, idx = (queries[i : i + 500] @ bank.T).topk(k, dim=1)
        votes = torch.zeros(s.shape[0], classes).scatter_add_(1, bank_y[idx], (s / t).exp())
        correct += (votes.argmax(1) == query_y[i : i + 500]).sum().item()
    return 100 * correct / queries.shape[0]


def linear_probe(bank, bank_y, queries, query_y, fraction=0.01, seeds=(0, 1, 2), steps=300) -> float:
    scores = []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        pick = torch.randperm(bank.shape[0], generator=g)[: round(fraction * bank.shape[0])]
        x, y = bank[pick], bank_y[pick]
        mu, sd = x.mean(0), x.std(0) + 1e-6
        w = torch.zeros(x.shape[1], 10, requires_grad=True)
        b = torch.zeros(10, requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=1e-2, weight_decay=1e-4)
        xs = (x - mu) / sd
        for _ in range(steps):
            loss = F.cross_entropy(xs @ w + b, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            scores.append(100 * (((queries - mu) / sd @ w + b).argmax(1) == query_y).float().mean().item())
    return sum(scores) / len(scores)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--name", required=True)
    p.add_argument("--json", default="/tmp/recipe-sweep.jsonl")
    add_recipe_args(p, "20000,60000")
    p.add_argument("--norm", default="layer")
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--queue", type=int, default=0)
    p.add_argument("--momentum", type=float, default=0.99)
    p.add_argument("--raw", action="store_true", help="also score raw pixels")
    p.add_argument("--contrast", type=float, default=1.0, help="weight of the contrastive term (0: reconstruction only)")
    p.add_argument("--bank", type=int, default=60000, help="a seeded subset of the bank (60,000 = the full protocol)")
    p.add_argument("--queries", type=int, default=10000, help="a seeded subset of the queries (10,000 = full)")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train_x, train_y, test_x, test_y = load_split(Path(a.data))
    if a.bank < 60000 or a.queries < 10000:  # a SUBSET of glimpse-fmnist-v1: the rows say so ("split")
        pick = torch.Generator().manual_seed(7)
        b, q = torch.randperm(60000, generator=pick)[: a.bank], torch.randperm(10000, generator=pick)[: a.queries]
        train_x, train_y, test_x, test_y = train_x[b], train_y[b], test_x[q], test_y[q]
    cfg = {**encoder_config(a), "norm": a.norm}
    enc, proj, decoder, params = build_model(a, cfg)
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-7, weight_decay=a.wd)
    key_enc, key_proj, queue = None, None, None
    if a.queue:
        key_enc, key_proj = copy.deepcopy(enc), copy.deepcopy(proj)
        for q in list(key_enc.parameters()) + list(key_proj.parameters()):
            q.requires_grad_(False)
        queue = F.normalize(torch.randn(a.queue, a.proj_dim), dim=1)
    checkpoints = sorted({int(c) for c in a.checkpoints.split(",")})
    total = max(1, round(checkpoints[-1] / a.batch))
    warmup = round(total * a.warmup)
    g = torch.Generator().manual_seed(a.seed)
    losses, t0 = [], time.time()
    scored: set = set()
    images = load_train(Path(a.data))

    def score(examples: int) -> None:
        t = time.time()
        bank, queries = embed(enc, train_x), embed(enc, test_x)
        mean = bank.mean(0)
        row = {"name": a.name, "examples": examples, "split": f"{a.bank}/{a.queries}", "knn_top1": round(knn_top1(bank, train_y, queries, test_y), 2),
               "knn_top1_centered": round(knn_top1(bank - mean, train_y, queries - mean, test_y), 2),
               "linear_1pct": round(linear_probe(bank, train_y, queries, test_y), 2),
               "loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4), "train_s": round(t - t0),
               "args": {k: v for k, v in vars(a).items() if k not in ("json", "data", "name")}}
        if a.raw and examples == checkpoints[0]:
            rb, rq = train_x.flatten(1).float(), test_x.flatten(1).float()
            row["raw_knn_top1"] = round(knn_top1(rb, train_y, rq, test_y), 2)
            row["raw_linear_1pct"] = round(linear_probe(rb, train_y, rq, test_y), 2)
            raw_mean = rb.mean(0)
            row["raw_knn_top1_centered"] = round(knn_top1(rb - raw_mean, train_y, rq - raw_mean, test_y), 2)
        row["eval_s"] = round(time.time() - t)
        print(json.dumps(row), flush=True)
        with open(a.json, "a") as f:
            f.write(json.dumps(row) + "\n")

    if checkpoints[0] == 0:
        score(0)
    def loss_of(z, v1, v2):  # training_steps adds the reconstruction term (--recon)
        return a.contrast * contrastive(z, v1, v2) if a.contrast else z.sum() * 0

    def contrastive(z, v1, v2):
        nonlocal queue
        if queue is None:
            return nt_xent(z[: a.batch], z[a.batch :], a.temperature)
        with torch.no_grad():
            m = a.momentum
            for q_, k_ in zip(list(enc.parameters()) + list(proj.parameters()),
                              list(key_enc.parameters()) + list(key_proj.parameters())):
                k_.mul_(m).add_(q_.detach(), alpha=1 - m)
            k = F.normalize(key_proj(key_enc(torch.cat([v2, v1]))), dim=1)
        q = F.normalize(z, dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / a.temperature
        queue = torch.cat([k[: a.batch], queue])[: a.queue]
        return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))

    for _, examples, loss in training_steps(a, enc, proj, opt, images, g, total, warmup, loss_of, decoder=decoder):
        losses.append(loss)
        due = [c for c in checkpoints if c and c not in scored and examples >= c - a.batch / 2]
        if due:
            scored.update(due)
            score(due[-1])


if __name__ == "__main__":
    main()

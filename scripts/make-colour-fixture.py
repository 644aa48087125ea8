#!/usr/bin/env python3
"""
Builds test/fixtures/colour-small/: a small set of 32x32 RGB crops of real colour photos, for the
colour-dependent parts of Glimpse (colorization's class-rebalancing prior and tests, colour
augmentations). Fashion-MNIST is grayscale, so it cannot serve there.

Source: the sample photographs shipped by Debian's `python3-skimage` package
(/usr/lib/python3/dist-packages/skimage/data/): astronaut, chelsea, coffee, motorcycle_left,
motorcycle_right, rocket (natural photos only; scientific images such as retina/ihc/hubble are
left out). Install with `sudo apt-get install python3-skimage`, then run

    /usr/bin/python3 scripts/make-colour-fixture.py [--count 2000] [--seed 0]

Each crop: pick a photo (probability proportional to its area), a square side uniformly in
[48, 192] px, a uniform position, a horizontal flip with p = 0.5, and an anti-aliased resize to
32x32. Output (deterministic for a seed):
  images.u8.gz  raw uint8 [count, 32, 32, 3], row-major (RGB), gzipped
  meta.json     {count, size, channels, seed, sources, ...}
"""
import argparse
import gzip
import json
import os

import numpy as np
from skimage import io, transform

DATA_DIR = '/usr/lib/python3/dist-packages/skimage/data'
SOURCES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png', 'motorcycle_right.png', 'rocket.jpg']
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'colour-small')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--count', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--size', type=int, default=32)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    photos = []
    for name in SOURCES:
        img = io.imread(os.path.join(DATA_DIR, name))
        if img.ndim != 3 or img.shape[2] < 3:
            raise SystemExit(f'{name}: not an RGB photo, shape {img.shape}')
        photos.append(img[:, :, :3])
    areas = np.array([p.shape[0] * p.shape[1] for p in photos], dtype=np.float64)
    out = np.zeros((args.count, args.size, args.size, 3), dtype=np.uint8)
    for i in range(args.count):
        p = photos[rng.choice(len(photos), p=areas / areas.sum())]
        h, w = p.shape[:2]
        side = int(rng.integers(48, min(192, h, w) + 1))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        crop = p[y:y + side, x:x + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        small = transform.resize(crop, (args.size, args.size), anti_aliasing=True, preserve_range=True)
        out[i] = np.clip(np.round(small), 0, 255).astype(np.uint8)
    os.makedirs(OUT, exist_ok=True)
    # mtime=0: the gzip bytes depend on the pixels only, so reruns give identical files.
    with open(os.path.join(OUT, 'images.u8.gz'), 'wb') as f:
        with gzip.GzipFile(fileobj=f, mode='wb', compresslevel=9, mtime=0) as g:
            g.write(out.tobytes())
    meta = {
        'count': args.count, 'size': args.size, 'channels': 3, 'dtype': 'uint8', 'layout': 'NHWC',
        'seed': args.seed, 'sources': [f'python3-skimage:{DATA_DIR}/{s}' for s in SOURCES],
        'generator': 'scripts/make-colour-fixture.py',
    }
    with open(os.path.join(OUT, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(f'wrote {args.count} crops to {OUT}')


if __name__ == '__main__':
    main()

/**
 * Derives the committed Fashion-MNIST fixture from the full dataset: a class-balanced subset of
 * 2,000 train (200/class) and 1,000 test (100/class) images, picked with a fixed seed and kept in
 * the original dataset order, written as gzipped IDX to `test/fixtures/fashion-mnist-small/`.
 *
 * Usage: `npm run fixture` (reads the dataset from `$GLIMPSE_FASHION_MNIST_DIR` or the Debian path).
 * Re-running it reproduces byte-identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, loadFashionMnist, type Split } from '../shared/data/fashion-mnist';
import { FIXTURE_DIR, fixturePath } from '../shared/data/fixture';
import { encodeIdx, type LabeledImages } from '../shared/data/idx';
import { mulberry32, shuffleInPlace } from '../shared/data/rng';

const SEED = 20240101;
const PER_CLASS: Record<Split, number> = { train: 200, test: 100 };

/** Indices of `perClass` random examples of every class, ascending. */
function balancedSubset(labels: Uint8Array, numClasses: number, perClass: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const picked: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = Int32Array.from(labels.keys()).filter((i) => labels[i] === c);
    if (members.length < perClass) throw new Error(`class ${c} has only ${members.length} examples`);
    picked.push(...shuffleInPlace(members, rand).subarray(0, perClass));
  }
  return picked.sort((a, b) => a - b);
}

function subset(set: LabeledImages, idx: number[]): LabeledImages {
  const px = set.height * set.width;
  const images = new Uint8Array(idx.length * px);
  idx.forEach((i, j) => images.set(set.images.subarray(i * px, (i + 1) * px), j * px));
  return { images, labels: Uint8Array.from(idx, (i) => set.labels[i]), count: idx.length, height: set.height, width: set.width };
}

mkdirSync(FIXTURE_DIR, { recursive: true });
for (const split of ['train', 'test'] as const) {
  const full = loadFashionMnist({ split });
  const small = subset(full, balancedSubset(full.labels, FASHION_MNIST_CLASSES.length, PER_CLASS[split], SEED + (split === 'test' ? 1 : 0)));
  // gzip's header mtime is 0 under node:zlib, so the output is byte-for-byte reproducible.
  const images = gzipSync(encodeIdx({ dtype: 'uint8', dims: [small.count, small.height, small.width], data: small.images }), { level: 9 });
  const labels = gzipSync(encodeIdx({ dtype: 'uint8', dims: [small.count], data: small.labels }), { level: 9 });
  writeFileSync(fixturePath(split, 'images'), images);
  writeFileSync(fixturePath(split, 'labels'), labels);
  console.log(`${split}: ${small.count} of ${full.count} images -> ${fixturePath(split, 'images')} (${images.length} bytes)`);
}

/**
 * Node loader for Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, "Fashion-MNIST: a Novel Image
 * Dataset for Benchmarking Machine Learning Algorithms"): 60,000 train and 10,000 test 28×28
 * grayscale images in 10 classes, stored as (gzipped) IDX files.
 *
 * Node-only (reads files, gunzips with node:zlib); the parsing itself is the pure `idx.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isGzip, parseIdx, toLabeledImages, type IdxArray, type LabeledImages } from './idx';

/** Class names in label order (from the dataset's README). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist/';

/** Environment variable that overrides `DEFAULT_FASHION_MNIST_DIR`. */
export const FASHION_MNIST_DIR_ENV = 'GLIMPSE_FASHION_MNIST_DIR';

export type Split = 'train' | 'test';

/** File stems per split, as published (`t10k` is the test split). */
const STEMS: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Reads one IDX file, gunzipping it when it starts with the gzip magic. */
export function readIdxFile(path: string): IdxArray {
  const raw = readFileSync(path);
  return parseIdx(isGzip(raw) ? gunzipSync(raw) : raw, path);
}

/** The directory to load from: the argument, else `$GLIMPSE_FASHION_MNIST_DIR`, else the Debian path. */
export function fashionMnistDir(dir?: string): string {
  return dir ?? process.env[FASHION_MNIST_DIR_ENV] ?? DEFAULT_FASHION_MNIST_DIR;
}

/**
 * Loads one split of Fashion-MNIST.
 *
 * Accepts both `<stem>.gz` (as shipped) and an already-gunzipped `<stem>`.
 *
 * @returns `images` `[count, 28, 28]` uint8 and `labels` `[count]` in 0..9.
 * @throws Error with a one-line hint on how to get the data when a file is missing.
 */
export function loadFashionMnist(opts: { dir?: string; split: Split }): LabeledImages {
  const dir = fashionMnistDir(opts.dir);
  const stems = STEMS[opts.split];
  const images = readIdxFile(findFile(dir, stems.images));
  const labels = readIdxFile(findFile(dir, stems.labels));
  const set = toLabeledImages(images, labels, `Fashion-MNIST ${opts.split} in ${dir}`, FASHION_MNIST_CLASSES.length);
  if (set.height !== 28 || set.width !== 28) {
    throw new Error(`Fashion-MNIST ${opts.split} in ${dir}: images are ${set.height}x${set.width}, expected 28x28`);
  }
  return set;
}

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `Fashion-MNIST file ${stem}.gz not found in ${dir}: install it with \`sudo apt-get install dataset-fashion-mnist\`, ` +
      `or set ${FASHION_MNIST_DIR_ENV} to a folder holding the IDX files.`,
  );
}

/**
 * The small, committed Fashion-MNIST subset used by tests and quick experiments: 2,000 train
 * (200 per class) and 1,000 test (100 per class) images, produced by `scripts/make-fixture.ts`.
 * Node-only; same return shape as `loadFashionMnist`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_CLASSES, readIdxFile, type Split } from './fashion-mnist';
import { toLabeledImages, type LabeledImages } from './idx';

/** Absolute path of the fixture folder, resolved from this file so the cwd does not matter. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/fashion-mnist-small/', import.meta.url));

/** The fixture file for a split and kind, e.g. `train-images.idx.gz`. */
export function fixturePath(split: Split, kind: 'images' | 'labels'): string {
  return join(FIXTURE_DIR, `${split}-${kind}.idx.gz`);
}

/** Loads one split of the fixture: `images` `[count, 28, 28]` uint8, `labels` `[count]`. */
export function loadFixture(split: Split): LabeledImages {
  return toLabeledImages(
    readIdxFile(fixturePath(split, 'images')),
    readIdxFile(fixturePath(split, 'labels')),
    `Fashion-MNIST fixture (${split}) in ${FIXTURE_DIR}`,
    FASHION_MNIST_CLASSES.length,
  );
}

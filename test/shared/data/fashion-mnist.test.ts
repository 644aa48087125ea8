import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, fashionMnistDir, loadFashionMnist } from '../../../shared/data/fashion-mnist';
import { loadFixture } from '../../../shared/data/fixture';

function classCounts(labels: Uint8Array): number[] {
  const counts = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

describe('loadFixture', () => {
  it.each([
    ['train', 2000, 200],
    ['test', 1000, 100],
  ] as const)('%s split is class-balanced with the right shapes', (split, count, perClass) => {
    const set = loadFixture(split);
    expect(set).toMatchObject({ count, height: 28, width: 28 });
    expect(set.images).toBeInstanceOf(Uint8Array);
    expect(set.images.length).toBe(count * 28 * 28);
    expect(set.labels.length).toBe(count);
    expect(classCounts(set.labels)).toEqual(new Array(10).fill(perClass));
    // Real images, not zeros: Fashion-MNIST's mean pixel is ~73/255.
    const mean = set.images.reduce((a, b) => a + b, 0) / set.images.length;
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(100);
  });
});

describe('loadFashionMnist', () => {
  it('names ten classes', () => {
    expect(FASHION_MNIST_CLASSES).toHaveLength(10);
    expect(FASHION_MNIST_CLASSES[9]).toBe('Ankle boot');
  });

  it('says in one line how to get the data when files are missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'glimpse-fmnist-'));
    let message = '';
    try {
      loadFashionMnist({ dir: empty, split: 'train' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('sudo apt-get install dataset-fashion-mnist');
    expect(message).toContain('GLIMPSE_FASHION_MNIST_DIR');
    expect(message).toContain(empty);
    expect(message).not.toContain('\n');
  });

  it('takes the directory from the argument, then the environment, then the default', () => {
    const saved = process.env.GLIMPSE_FASHION_MNIST_DIR;
    try {
      delete process.env.GLIMPSE_FASHION_MNIST_DIR;
      expect(fashionMnistDir()).toBe(DEFAULT_FASHION_MNIST_DIR);
      process.env.GLIMPSE_FASHION_MNIST_DIR = '/from/env';
      expect(fashionMnistDir()).toBe('/from/env');
      expect(fashionMnistDir('/from/arg')).toBe('/from/arg');
    } finally {
      if (saved === undefined) delete process.env.GLIMPSE_FASHION_MNIST_DIR;
      else process.env.GLIMPSE_FASHION_MNIST_DIR = saved;
    }
  });

  const full = fashionMnistDir();
  it.skipIf(!existsSync(join(full, 't10k-labels-idx1-ubyte.gz')))('loads the full dataset when installed (60000 / 10000)', () => {
    const train = loadFashionMnist({ split: 'train' });
    const test = loadFashionMnist({ split: 'test' });
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect(train.images.length).toBe(60000 * 28 * 28);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
  });
});

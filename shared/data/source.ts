/**
 * Node: where a run's Fashion-MNIST comes from — the full set (Debian's dataset-fashion-mnist or
 * a directory), or the committed 2,000/1,000 fixture.
 */
import { loadFashionMnist } from './fashion-mnist';
import { loadFixture } from './fixture';
import type { LabeledImages } from './idx';

export interface FashionMnistData {
  train: LabeledImages;
  test: LabeledImages;
  /** Human-readable origin, for progress output. */
  source: string;
  isFixture: boolean;
}

/**
 * `data`: 'fixture', a directory, or undefined for the default location. With undefined, a missing
 * dataset falls back to the fixture and `note` receives the one-line reason; an explicit
 * directory that cannot be read is an error.
 */
export function loadTrainingData(data: string | undefined, note: (line: string) => void = () => {}): FashionMnistData {
  const fixture = (): FashionMnistData => {
    const [train, test] = [loadFixture('train'), loadFixture('test')];
    return { train, test, source: `committed fixture (${train.count} train / ${test.count} test)`, isFixture: true };
  };
  if (data === 'fixture') return fixture();
  try {
    const [train, test] = [loadFashionMnist({ dir: data, split: 'train' }), loadFashionMnist({ dir: data, split: 'test' })];
    return { train, test, source: `Fashion-MNIST (${train.count} train / ${test.count} test)`, isFixture: false };
  } catch (e) {
    if (data) throw e;
    note(`${(e as Error).message.split('\n')[0]} — using the committed fixture instead`);
    return fixture();
  }
}

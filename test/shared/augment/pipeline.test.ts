import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { augment, BYOL_VIEW_1, BYOL_VIEW_2, SIMCLR_VIEW, type ViewParams } from '../../../shared/augment';
import { BACKENDS, expectImages, maxAbsDiff, maxChannelSpread, randomImages, useBackend } from './backends';

const VIEWS: [string, ViewParams][] = [
  ['BYOL_VIEW_1', { ...BYOL_VIEW_1, outputSize: 32 }],
  ['BYOL_VIEW_2', { ...BYOL_VIEW_2, outputSize: 32 }],
  ['SIMCLR_VIEW', { ...SIMCLR_VIEW, outputSize: 32 }],
];

describe('presets', () => {
  it('follow BYOL Table 6 and SimCLR Appendix A', () => {
    expect(BYOL_VIEW_1).toMatchObject({ blurP: 1, solarizeP: 0, jitterP: 0.8, grayscaleP: 0.2, flipP: 0.5 });
    expect(BYOL_VIEW_2).toMatchObject({ blurP: 0.1, solarizeP: 0.2, jitterP: 0.8, grayscaleP: 0.2, flipP: 0.5 });
    expect(BYOL_VIEW_1.jitter).toEqual({ brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 });
    expect(SIMCLR_VIEW).toMatchObject({ blurP: 0.5, solarizeP: 0, jitterP: 0.8, grayscaleP: 0.2, flipP: 0.5 });
    expect(SIMCLR_VIEW.jitter).toEqual({ brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 });
    expect(Object.isFrozen(BYOL_VIEW_1)).toBe(true);
  });
});

describe('augment', () => {
  it('gives the same views on cpu and wasm (within 1e-4)', async () => {
    const views: Float32Array[][] = [];
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const x = tf.tensor4d(randomImagesData(), [16, 32, 32, 3]);
      views.push(VIEWS.map(([, params], i) => augment(x, params, 100 + i).dataSync() as Float32Array));
      tf.disposeVariables();
    }
    views[0].forEach((cpu, v) => {
      const wasm = views[1][v];
      let m = 0;
      for (let i = 0; i < cpu.length; i++) m = Math.max(m, Math.abs(cpu[i] - wasm[i]));
      expect(m, VIEWS[v][0]).toBeLessThan(1e-4);
    });
  });

  describe.each(BACKENDS)('on %s', (backend) => {
    it.each(VIEWS)('%s keeps a fixed shape and [0, 1], and is deterministic in the seed', async (_, params) => {
      await useBackend(backend);
      const x = randomImages([16, 32, 32, 3]);
      const a = augment(x, params, 1);
      expectImages(a, [16, 32, 32, 3]);
      expect(maxAbsDiff(a, augment(x, params, 1))).toBe(0);
      expect(maxAbsDiff(a, augment(x, params, 2))).toBeGreaterThan(0.05);
      // A different output size is honoured, as a fixed shape too.
      expectImages(augment(x, { ...params, outputSize: [24, 20] }, 1), [16, 24, 20, 3]);
    });

    it('leaks no tensor inside tidy', async () => {
      await useBackend(backend);
      const x = randomImages([16, 32, 32, 3]);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        for (const [, params] of VIEWS) augment(x, params, 3);
      });
      expect(tf.memory().numTensors).toBe(before);
      const y = augment(x, VIEWS[1][1], 4);
      expect(tf.memory().numTensors).toBe(before + 1);
      y.dispose();
    });

    it('keeps grayscale images gray, given as 3 equal channels or as 1 channel', async () => {
      await useBackend(backend);
      const gray1 = randomImages([8, 32, 32, 1]);
      const gray3 = tf.tile(gray1, [1, 1, 1, 3]) as tf.Tensor4D;
      const a = augment(gray3, VIEWS[1][1], 5);
      expectImages(a, [8, 32, 32, 3]);
      expect(maxChannelSpread(a)).toBeLessThan(1e-5);
      const b = augment(gray1, VIEWS[1][1], 5);
      expect(maxAbsDiff(a, b)).toBe(0);
    });

    it('rejects images that are neither RGB nor gray', async () => {
      await useBackend(backend);
      expect(() => augment(tf.zeros([1, 4, 4, 2]) as tf.Tensor4D, VIEWS[0][1], 1)).toThrow(/channels/);
    });
  });
});

/** The same pixels on every backend (tf.randomUniform is seeded, but build them in JS to be sure). */
function randomImagesData(): Float32Array {
  const out = new Float32Array(16 * 32 * 32 * 3);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 16777216;
  }
  // Smooth rows a little so the crops resample structure, not only noise.
  return out.map((v, i) => (i >= 3 ? 0.5 * v + 0.5 * out[i - 3] : v));
}

describe('view overrides (MethodConfig.view)', () => {
  it('apply the grayscale small-image recipe over a method view and reject bad input from a run config', async () => {
    const { GRAYSCALE_SMALL_VIEW, SIMCLR_SMALL_VIEW, withViewOverrides } = await import('../../../shared/augment');
    const v = withViewOverrides({ ...SIMCLR_SMALL_VIEW }, { ...GRAYSCALE_SMALL_VIEW });
    expect(v).toMatchObject({ cropScale: [0.7, 1], jitterP: 0, grayscaleP: 0, blurP: 0, flipP: 0.5, outputSize: 32 });
    expect(withViewOverrides(SIMCLR_SMALL_VIEW, undefined)).toBe(SIMCLR_SMALL_VIEW);
    expect(() => withViewOverrides(SIMCLR_SMALL_VIEW, { cropScale: [0.9, 0.2] })).toThrow(/cropScale/);
    expect(() => withViewOverrides(SIMCLR_SMALL_VIEW, { jitterP: 2 })).toThrow(/probability/);
    expect(() => withViewOverrides(SIMCLR_SMALL_VIEW, { outputSize: 64 })).toThrow(/unknown view option/);
    expect(() => withViewOverrides(SIMCLR_SMALL_VIEW, [1])).toThrow(/object/);
  });
});

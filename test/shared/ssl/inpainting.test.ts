import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discriminatorLoss, generatorAdversarialLoss, inpaintingMasks, maskedL2, type InpaintingMethod } from '../../../shared/ssl/inpainting';
import { createMethod, resolveMethodConfig } from '../../../shared/ssl/registry';
import { initialGlobalWeights, mainVariables, makeAuxiliaryOptimizers, makeOptimizer, trainStep } from '../../../shared/train/local-round';
import { readWeights } from '../../../shared/models/weights-io';
import { colourSource, expectNoTensorGrowth, expectOfflineRound, expectServerRound, firstAndLastLoss, fixedSource, SIZE, TINY, useWasm } from './method-helpers';

describe('context-encoder inpainting (Pathak et al. 2016)', () => {
  beforeAll(useWasm);
  const made: InpaintingMethod[] = [];
  const inpainting = (o: Record<string, unknown> = {}) => {
    const m = createMethod('inpainting', { ...TINY, ...o }) as InpaintingMethod;
    made.push(m);
    return m;
  };
  afterAll(() => made.forEach((m) => m.dispose()));

  it('uses the paper\'s λ_rec = 0.999, λ_adv = 0.001', () => {
    const c = resolveMethodConfig('inpainting');
    expect([c.lambdaRec, c.lambdaAdv]).toEqual([0.999, 0.001]);
  });

  it('masks: a central square of half the side, or random blocks covering at least a quarter', () => {
    const m = inpaintingMasks(2, 16, 'mixed', 3);
    const center = m.subarray(0, 256);
    expect(center.reduce((s, v) => s + v, 0)).toBe(64);
    expect(center[4 * 16 + 4]).toBe(1);
    expect(center[3 * 16 + 4]).toBe(0);
    expect(center[11 * 16 + 11]).toBe(1);
    const blocks = m.subarray(256);
    const covered = blocks.reduce((s, v) => s + v, 0);
    expect(covered).toBeGreaterThanOrEqual(64);
    expect(covered).toBeLessThan(256);
    expect(inpaintingMasks(2, 16, 'mixed', 3)).toEqual(m);
  });

  it('losses match hand-computed values', () => {
    const x = tf.tensor4d([0, 1, 0.5, 0.5], [1, 2, 2, 1]);
    const xHat = tf.tensor4d([1, 1, 0, 0.5], [1, 2, 2, 1]);
    const mask = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);
    // masked squared errors: (0−1)² + (0.5−0)² = 1.25 over 2 masked values
    expect(maskedL2(x, xHat, mask).dataSync()[0]).toBeCloseTo(0.625, 6);
    const sp = (v: number) => Math.log(1 + Math.exp(v));
    expect(generatorAdversarialLoss(tf.tensor2d([[0], [2]])).dataSync()[0]).toBeCloseTo((sp(0) + sp(-2)) / 2, 6);
    expect(discriminatorLoss(tf.tensor2d([[1]]), tf.tensor2d([[-1]])).dataSync()[0]).toBeCloseTo(sp(-1) + sp(-1), 6);
  });

  it('the discriminator is an online weight trained only by its own objective', () => {
    const m = inpainting();
    initialGlobalWeights(m);
    const discNames = m.online.models[2].weights.map((w) => w.originalName);
    expect(discNames.every((n) => n.startsWith('inp_disc_'))).toBe(true);
    expect(m.auxiliaryLosses).toHaveLength(1);
    const auxVars = new Set(m.auxiliaryLosses![0].variables());
    expect(mainVariables(m).some((v) => auxVars.has(v))).toBe(false);
    // With λ_adv's generator term the only path into D, a main-only step must leave D unchanged;
    // the auxiliary step must move it.
    const src = colourSource(1);
    const before = readWeights([m.online]);
    const opt = makeOptimizer({ kind: 'adam', learningRate: 1e-2 });
    const images = src(4);
    trainStep(m, opt, mainVariables(m), images, 1, 0, 0, makeAuxiliaryOptimizers(m, { kind: 'sgd', learningRate: 0 }));
    const mid = readWeights([m.online]);
    for (const n of discNames) expect(Array.from(mid.get(n)!.data)).toEqual(Array.from(before.get(n)!.data));
    expect(Array.from(mid.get('enc_stem_conv/kernel')!.data)).not.toEqual(Array.from(before.get('enc_stem_conv/kernel')!.data));
    const aux = makeAuxiliaryOptimizers(m, { kind: 'adam', learningRate: 1e-2 });
    trainStep(m, opt, mainVariables(m), images, 2, 0, 0, aux);
    const after = readWeights([m.online]);
    expect(discNames.some((n) => after.get(n)!.data.some((v, i) => v !== mid.get(n)!.data[i]))).toBe(true);
    expect(() => trainStep(m, opt, mainVariables(m), images, 3)).toThrow(/auxiliary/);
    images.dispose();
    opt.dispose();
    for (const a of aux) a.dispose();
  });

  it('a short run lowers the loss; inpaint returns an image', async () => {
    const m = inpainting();
    const { first, last, losses } = await firstAndLastLoss(m, fixedSource(colourSource(2), 8), 20, 5);
    expect(last, losses.map((l) => l.toFixed(4)).join(' ')).toBeLessThan(first * 0.9);
    const out = m.inpaint(tf.zeros([2, SIZE, SIZE, 3]));
    expect(out.shape).toEqual([2, SIZE, SIZE, 3]);
    out.dispose();
  });

  it('does not grow the tensor count per step', () => {
    expectNoTensorGrowth(inpainting(), colourSource(3));
  });

  it('one federated round: offline and through the aggregation server', async () => {
    await expectOfflineRound(inpainting(), colourSource(4));
    await expectServerRound('inpainting', TINY, colourSource(5));
  });
});

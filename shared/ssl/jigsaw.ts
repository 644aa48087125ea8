/**
 * Jigsaw puzzles — Noroozi & Favaro 2016, "Unsupervised Learning of Visual Representations by
 * Solving Jigsaw Puzzles".
 *
 * Each image is cut into a 3×3 grid; from every cell a tile is cropped at a random offset ("we
 * leave a random gap between the tiles", so edge continuity does not give the answer away, §3.3),
 * the 9 tiles are shuffled by one of N permutations chosen for maximal Hamming distance
 * (jigsaw-permutations.ts), and a network predicts the permutation's index. The tiles go through
 * one shared encoder — Glimpse's, on tiles resized to its input size with cropAndResize, so all
 * shapes are fixed — their features are concatenated in shuffled order and an MLP classifies
 * (the paper's "context-free network": shared fc6 per tile, concatenation, fc7, fc8 + softmax).
 * Loss: cross-entropy over the N permutation indices.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mulberry32 } from '../data/rng';
import { buildEncoder, representationDim, matchChannels } from '../models/encoder';
import { buildMlpHead } from '../models/heads';
import { jigsawPermutations, type PermutationCriterion } from './jigsaw-permutations';
import { crossEntropyWithIndex } from './losses';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

export const GRID = 3;
export const TILES = GRID * GRID;

export interface JigsawOptions {
  /** Number of permutations N (classes). */
  permutations: number;
  /** How candidates are scored when building the set (see jigsaw-permutations.ts). */
  permutationCriterion: PermutationCriterion;
  /** Tile side as a fraction of its grid cell; the rest is the random gap. Paper: 64/75 ≈ 0.85. */
  tileFraction: number;
}

export function jigsawOptions(config: MethodConfig): JigsawOptions {
  return {
    permutations: Number(config.permutations ?? 64),
    permutationCriterion: config.permutationCriterion === 'mean' ? 'mean' : 'min',
    tileFraction: Number(config.tileFraction ?? 0.8),
  };
}

/**
 * Crop boxes for the shuffled tiles of `batch` images: boxes [9·batch, 4] as normalised
 * (y1, x1, y2, x2) rows, image-major (row i·9 + k is position k of image i, showing grid cell
 * perm[k]), and the permutation index of each image.
 */
export function jigsawBoxes(batch: number, perms: number[][], tileFraction: number, seed: number): { boxes: Float32Array; labels: Int32Array } {
  const rand = mulberry32(seed);
  const cell = 1 / GRID;
  const tile = cell * tileFraction;
  const boxes = new Float32Array(batch * TILES * 4);
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    const label = Math.min(perms.length - 1, Math.floor(rand() * perms.length));
    labels[i] = label;
    // One random gap per grid cell, drawn before shuffling.
    const cellBoxes = Array.from({ length: TILES }, (_, c) => {
      const y = Math.floor(c / GRID) * cell + rand() * (cell - tile);
      const x = (c % GRID) * cell + rand() * (cell - tile);
      return [y, x, y + tile, x + tile];
    });
    perms[label].forEach((c, k) => boxes.set(cellBoxes[c], (i * TILES + k) * 4));
  }
  return { boxes, labels };
}

export function createJigsaw(config: MethodConfig): SslMethod {
  const opts = jigsawOptions(config);
  const perms = jigsawPermutations(opts.permutations, 0, opts.permutationCriterion);
  const dim = representationDim(config.encoder);
  const encoder = buildEncoder(config.encoder);
  const classifier = buildMlpHead({ name: 'jig', inputDim: TILES * dim, hiddenDim: config.projectionHidden, outputDim: opts.permutations, norm: 'none' });
  const size = config.encoder.inputSize;
  const channels = config.encoder.channels;
  const apply = (m: tfl.LayersModel, x: tf.Tensor) => m.apply(x, { training: true }) as tf.Tensor2D;
  return {
    name: 'jigsaw',
    encoder,
    online: { prefix: '', models: [encoder, classifier] },
    target: { prefix: TARGET_PREFIX, models: [] },
    momentumPairs: [],
    /** → [tiles [9b, s, s, c] (shuffled, image-major), labels [b] int32] */
    prepare(images, seed) {
      return tf.tidy(() => {
        const b = images.shape[0];
        const x = matchChannels(images, channels);
        const { boxes, labels } = jigsawBoxes(b, perms, opts.tileFraction, seed);
        const boxInd = tf.tensor1d(Int32Array.from({ length: b * TILES }, (_, r) => Math.floor(r / TILES)), 'int32');
        const tiles = tf.image.cropAndResize(x, tf.tensor2d(boxes, [b * TILES, 4]), boxInd, [size, size], 'bilinear');
        return [tiles, tf.tensor1d(labels, 'int32')];
      });
    },
    loss([tiles, labels]) {
      return tf.tidy(() => {
        const b = labels.shape[0];
        const features = tf.reshape(apply(encoder, tiles), [b, TILES * dim]);
        return crossEntropyWithIndex(apply(classifier, features), labels as tf.Tensor1D);
      });
    },
    dispose() {
      encoder.dispose();
      classifier.dispose();
    },
  };
}

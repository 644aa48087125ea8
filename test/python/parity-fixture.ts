/**
 * The tfjs side of the PyTorch/ONNX parity tests: for each encoder configuration below, an
 * encoder.safetensors exactly as the server writes it (seeded non-trivial weights: gammas ≠ 1,
 * betas ≠ 0, BatchNorm running statistics ≠ (0, 1), so a mis-mapped or transposed weight shows),
 * a batch of images (NHWC float32) and the tfjs cpu backend's embeddings of them.
 *
 * Files per case in `dir`: <name>.safetensors, <name>.images.f32, <name>.embeddings.f32; and
 * manifest.json listing the cases. python/tests/conftest.py reads them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadFixture } from '../../shared/data/fixture';
import { toModelInput } from '../../shared/data/images';
import { mulberry32 } from '../../shared/data/rng';
import { buildEncoder, DEFAULT_ENCODER, embed, type EncoderConfig } from '../../shared/models/encoder';
import { readWeights, writeWeights } from '../../shared/models/weights-io';
import type { WeightMap } from '../../shared/weights/weight-map';
import { safetensorsMetadata } from '../../server/model/encoder-files';
import { encodeSafetensors } from '../../server/model/safetensors';

export interface ParityCase {
  name: string;
  /** A run whose resolved encoder config is `encoder`. */
  method: string;
  encoder: EncoderConfig;
  /** Images; the 32×32×3 case uses real Fashion-MNIST test images for half of them. */
  count: number;
}

/**
 * Cases: the default encoder; BatchNorm with two blocks in a stage and a stride-2 stem stage;
 * no normalization (conv biases), one input channel and a 15-px input, where TensorFlow's
 * 'same' padding of a stride-2 convolution is asymmetric (8 px → 4: one pixel after, none before).
 */
export const PARITY_CASES: ParityCase[] = [
  { name: 'default', method: 'simclr', encoder: DEFAULT_ENCODER, count: 16 },
  { name: 'batchnorm', method: 'byol', encoder: { inputSize: 32, channels: 3, stemWidth: 8, widths: [8, 16, 24], strides: [2, 2, 1], blocksPerStage: [2, 1, 1], norm: 'batch' }, count: 12 },
  // The SSL methods' default pooling (registry.ts): a 2×2 grid flattened in NHWC order.
  { name: 'grid-pool', method: 'simclr', encoder: { ...DEFAULT_ENCODER, stemWidth: 8, widths: [8, 12, 16], poolGrid: 2 }, count: 8 },
  { name: 'no-norm-odd', method: 'simclr', encoder: { inputSize: 15, channels: 1, stemWidth: 6, widths: [8, 12, 16], strides: [1, 2, 2], blocksPerStage: [1, 1, 2], norm: 'none' }, count: 12 },
];

export interface ParityManifestEntry {
  name: string;
  encoder: EncoderConfig;
  count: number;
  dim: number;
}

/** Seeded standard normals (Box–Muller over mulberry32). */
function normals(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * std;
  return out;
}

/** Weights with the shapes of `like`, drawn per kind so every layer's role is exercised. */
export function seededWeights(like: WeightMap, seed: number): WeightMap {
  const rand = mulberry32(seed);
  const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
  const out: WeightMap = new Map();
  for (const [name, t] of like) {
    const n = t.data.length;
    const kind = name.slice(name.lastIndexOf('/') + 1);
    const fanIn = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const data =
      kind === 'kernel' ? normals(rand, n, Math.sqrt(2 / fanIn))
      : kind === 'gamma' ? uniform(n, 0.6, 1.4)
      : kind === 'moving_variance' ? uniform(n, 0.5, 1.5)
      : uniform(n, -0.2, 0.2); // beta, bias, moving_mean
    out.set(name, { shape: [...t.shape], data });
  }
  return out;
}

/** Images [count, s, s, c] in [0, 1]: real Fashion-MNIST for half of the default case, else seeded noise. */
function parityImages(c: ParityCase, seed: number): Float32Array {
  const { inputSize: s, channels } = c.encoder;
  const per = s * s * channels;
  const out = Float32Array.from({ length: c.count * per }, mulberry32(seed));
  if (s === 32 && channels === 3) {
    const real = Math.floor(c.count / 2);
    const test = loadFixture('test');
    out.set(toModelInput(test.images.subarray(0, real * 28 * 28), real, 28, 28, 32));
  }
  return out;
}

/** Writes every case's files and manifest.json into `dir` (tfjs must have a backend set). */
export function writeParityFixture(dir: string, cases: ParityCase[] = PARITY_CASES): ParityManifestEntry[] {
  const manifest: ParityManifestEntry[] = [];
  cases.forEach((c, i) => {
    const encoder = buildEncoder(c.encoder);
    try {
      const weights = seededWeights(readWeights([{ prefix: '', models: [encoder] }]), 1000 + i);
      writeWeights([{ prefix: '', models: [encoder] }], weights);
      const images = parityImages(c, 2000 + i);
      const { inputSize: s, channels } = c.encoder;
      const x = tf.tensor4d(images, [c.count, s, s, channels]);
      const y = embed(encoder, x);
      const embeddings = y.dataSync() as Float32Array;
      const dim = y.shape[1];
      tf.dispose([x, y]);
      const run = { runId: `parity-${c.name}`, method: c.method, methodConfig: { encoder: c.encoder } };
      writeFileSync(join(dir, `${c.name}.safetensors`), encodeSafetensors(weights, safetensorsMetadata(run, { version: 7, source: 'online' }, c.encoder)));
      writeFileSync(join(dir, `${c.name}.images.f32`), new Uint8Array(images.buffer));
      writeFileSync(join(dir, `${c.name}.embeddings.f32`), new Uint8Array(embeddings.buffer, embeddings.byteOffset, embeddings.byteLength));
      manifest.push({ name: c.name, encoder: c.encoder, count: c.count, dim });
    } finally {
      encoder.dispose();
    }
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}

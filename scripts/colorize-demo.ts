/**
 * Colorization demo (Zhang et al. 2016): trains the colorization method on the colour fixture for
 * a few hundred steps, then writes a PNG grid of held-out crops — row 1 the originals, row 2 their
 * lightness only, row 3 the annealed-mean colorization (T = 0.38).
 *
 *   npx tsx scripts/colorize-demo.ts [--steps 300] [--batch 32] [--count 12] [--out test-artifacts/colorize-demo.png]
 */
import fs from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../shared/backends/node-backend';
import { labToRgb, rgbToLab } from '../shared/color/lab';
import { colourToModelInput, loadColourFixture } from '../shared/data/colour-fixture';
import { ImageBatchSource } from '../shared/data/images';
import { DEFAULT_ENCODER } from '../shared/models/encoder';
import type { ColorizationMethod } from '../shared/ssl/colorization';
import { createMethod } from '../shared/ssl/registry';
import { trainCentralized } from '../shared/train/local-round';
import { crc32 } from '../shared/weights/crc32';

/** A minimal PNG encoder: 8-bit RGB, one IDAT, filter 0 on every row. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter, no interlace
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '300'));
  const batch = Number(arg('batch', '32'));
  const count = Number(arg('count', '12'));
  const out = arg('out', 'test-artifacts/colorize-demo.png');
  console.log(`backend ${await initNodeBackend('wasm')}`);
  const fixture = loadColourFixture();
  const size = fixture.size;
  const all = colourToModelInput(fixture);
  const per = size * size * 3;
  // The last `count` crops are held out of training.
  const trainCount = fixture.count - count;
  const src = new ImageBatchSource(all.subarray(0, trainCount * per), trainCount, size, 3, 0);
  const method = createMethod('colorization', { encoder: { ...DEFAULT_ENCODER, inputSize: size, widths: [16, 32, 64], stemWidth: 16 } }) as ColorizationMethod;
  await trainCentralized({
    method, steps, batchSize: batch, seed: 0, targetMomentum: 0.99,
    nextBatch: (b) => tf.tensor4d(src.nextBatch(b), [b, size, size, 3]),
    onStep: (i, loss) => {
      if (i % 50 === 0 || i === steps - 1) console.log(`step ${i} loss ${loss.toFixed(3)}`);
    },
  });
  const held = tf.tensor4d(all.subarray(trainCount * per), [count, size, size, 3]);
  const rows = tf.tidy(() => {
    // What the network sees: the L channel alone (a = b = 0).
    const L = tf.slice(rgbToLab(held), [0, 0, 0, 0], [-1, -1, -1, 1]);
    const gray = labToRgb(tf.concat([L, tf.zerosLike(L), tf.zerosLike(L)], 3));
    const colour = method.colorize(held);
    // [3, count, s, s, 3] → one image [3·s, count·s, 3]
    const grid = tf.stack([held, gray, colour]);
    return tf.reshape(tf.transpose(grid, [0, 2, 1, 3, 4]), [3 * size, count * size, 3]);
  });
  const pixels = Uint8Array.from(rows.dataSync(), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, encodePng(pixels, count * size, 3 * size));
  console.log(`wrote ${out} (${count * size}×${3 * size})`);
  tf.dispose([held, rows]);
  method.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The host-agnostic loading path of the SIMD kernels that browsers and the extension's worker use
 * (browser-backend.ts: fetch from `simdDir`, compile, bind to tfjs's memory), run in Node
 * against a real HTTP server serving dist/wasm/ — and a conv on the bound kernels against cpu.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bindBrowserSimd } from '../../../../shared/backends/browser-wasm';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { SIMD_WASM_DIR } from '../../../../shared/backends/wasm/simd/node-simd';
import { setSimdKernels, simdKernelsFor } from '../../../../shared/backends/wasm/simd/tfjs-binding';
import { expectSame, T } from './compare';

let server: http.Server;
let url: string;
const served: string[] = [];

beforeAll(async () => {
  expect(await initNodeBackend('wasm')).toBe('wasm');
  server = http.createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    const file = path.join(SIMD_WASM_DIR, name);
    if (name.includes('/') || !fs.existsSync(file)) return void res.writeHead(404).end();
    served.push(path.basename(file));
    res.writeHead(200, { 'content-type': 'application/wasm' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await initNodeBackend('wasm');
  await new Promise((r) => server.close(r));
});

it('binds the kernels fetched from simdDir, and a conv on them matches cpu', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as BackendWasm;
  setSimdKernels(backend, undefined);
  const variant = await bindBrowserSimd(url);
  expect(variant).not.toBeNull();
  expect(served).toContain(variant!.relaxed ? 'glimpse-simd-relaxed.wasm' : 'glimpse-simd.wasm');
  expect(simdKernelsFor(backend)?.instance.variant).toEqual(variant);
  await expectSame(() => tf.conv2d(T([2, 8, 8, 8], 1) as tf.Tensor4D, T([3, 3, 8, 16], 2) as tf.Tensor4D, 1, 'same'));
});

it('stays on the fallback kernels when nothing is served there', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as BackendWasm;
  setSimdKernels(backend, undefined);
  expect(await bindBrowserSimd(`${url}missing/`)).toBeNull();
  expect(simdKernelsFor(backend)).toBeUndefined();
});

/**
 * WebGPU for Node contributors (`glimpse contribute --backend webgpu`): tfjs-backend-webgpu on
 * Dawn's Node binding, the `webgpu` npm package. Where no adapter exists, a one-line reason.
 *
 * tfjs-backend-webgpu registers itself only in a window or worker (its support check looks for
 * one and for `navigator.gpu`), so here the backend is registered by hand with the adapter found
 * through Dawn; the check is satisfied only while the backend object is built, so that the rest
 * of tfjs keeps seeing Node.
 *
 * Without a GPU driver, Dawn can run on SwiftShader's Vulkan (CPU-emulated, correct but slow):
 * Debian's Chromium ships it, and {@link swiftShaderEnv} names the environment that selects it.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

const DAWN_PACKAGE = 'webgpu';

export type NodeWebgpuResult = { ok: true; adapter: string } | { ok: false; reason: string };

/** Environment that lets Dawn find SwiftShader's Vulkan driver from Debian's Chromium, or null when it is not installed. */
export function swiftShaderEnv(dir = '/usr/lib/chromium'): Record<string, string> | null {
  const icd = `${dir}/vk_swiftshader_icd.json`;
  if (!existsSync(icd) || !existsSync(`${dir}/libvulkan.so.1`)) return null;
  return { LD_LIBRARY_PATH: [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), VK_ICD_FILENAMES: icd };
}

/**
 * Registers and activates tfjs's 'webgpu' backend on Dawn. Never throws: a missing package,
 * a platform without a build, or no adapter come back as `{ ok: false, reason }`.
 */
export async function initNodeWebgpu(): Promise<NodeWebgpuResult> {
  type Dawn = { create(flags: string[]): GPU; globals: Record<string, unknown> };
  let dawn: Dawn;
  try {
    // By name at run time: the package ships one native build per platform, and a platform (or
    // an install) without one must get the one-line reason, not a failed import of this module.
    dawn = (await import(DAWN_PACKAGE)) as Dawn;
  } catch (e) {
    return { ok: false, reason: `the 'webgpu' package (Dawn for Node) could not be loaded: ${firstLine(e)}` };
  }
  // GPUBufferUsage, GPUMapMode… as a browser has them; tfjs-backend-webgpu refers to them.
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = dawn.create([]);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `no WebGPU adapter: ${firstLine(e)}` };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter on this machine (no GPU with a Vulkan, Metal or D3D12 driver, and no SwiftShader)' };
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const backend = asBrowserWhile(gpu, () => new WebGPUBackend(device, info));
  tf.registerBackend('webgpu', () => backend, 3);
  try {
    if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: `the WebGPU backend did not start on ${name}` };
  } catch (e) {
    return { ok: false, reason: `the WebGPU backend did not start on ${name}: ${firstLine(e)}` };
  }
  return { ok: true, adapter: `${name}${info.isFallbackAdapter ? ' (software fallback)' : ''}` };
}

/** Runs `fn` with `navigator.gpu` and a `WorkerGlobalScope` in place, then puts globalThis back as it was. */
function asBrowserWhile<T>(gpu: GPU, fn: () => T): T {
  const g = globalThis as Record<string, unknown>;
  const saved = { navigator: Object.getOwnPropertyDescriptor(g, 'navigator'), scope: Object.getOwnPropertyDescriptor(g, 'WorkerGlobalScope') };
  Object.defineProperty(g, 'navigator', { value: { ...(g.navigator as object | undefined), gpu }, configurable: true, writable: true });
  Object.defineProperty(g, 'WorkerGlobalScope', { value: function WorkerGlobalScope() {}, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    for (const [key, d] of [['navigator', saved.navigator], ['WorkerGlobalScope', saved.scope]] as const) {
      if (d) Object.defineProperty(g, key, d);
      else delete g[key];
    }
  }
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);

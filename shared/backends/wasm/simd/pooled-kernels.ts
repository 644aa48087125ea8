/**
 * SimdKernels on a thread pool, for tensors that live in tfjs-backend-wasm's (unshared) heap:
 * each call copies its operands into the pool's shared memory, runs the job on every thread and
 * copies the result back. The copies are memory-bound passes over tensors the kernels then read
 * several times over (a 3×3 convolution reads each input element once per tap and output
 * channel tile), which is why copying, not a shared tfjs heap, is affordable here.
 */
import type { ConvGeometry } from './conv-plan';
import type { SimdPool } from './pool';
import { createSimdKernels, type SimdKernels } from './simd-kernels';

const F32 = 4;

export function createPooledKernels(pool: SimdPool, tfjsMemory: WebAssembly.Memory): SimdKernels {
  const inner = createSimdKernels(pool.instance, pool.heap, pool.run, pool.threads);
  const poolMemory = pool.instance.memory;

  const copyIn = (addr: number, floats: number): number => {
    const p = pool.heap.malloc(floats * F32);
    new Float32Array(poolMemory.buffer, p, floats).set(new Float32Array(tfjsMemory.buffer, addr, floats));
    return p;
  };
  const alloc = (floats: number): number => pool.heap.malloc(floats * F32);
  const copyOut = (p: number, addr: number, floats: number): void => {
    new Float32Array(tfjsMemory.buffer, addr, floats).set(new Float32Array(poolMemory.buffer, p, floats));
  };
  const sizes = (g: ConvGeometry) => ({
    x: g.batchSize * g.inHeight * g.inWidth * g.inChannels,
    y: g.batchSize * g.outHeight * g.outWidth * g.outChannels,
    w: g.filterHeight * g.filterWidth * g.inChannels * g.outChannels,
  });
  /** Runs `body` with a fresh pool heap (everything it allocates is freed at once after). */
  const session = (body: () => void): void => {
    pool.heap.reset();
    try {
      body();
    } finally {
      pool.heap.reset();
    }
  };

  return {
    instance: pool.instance,
    forward(g, x, filter, bias, y, relu) {
      session(() => {
        const n = sizes(g);
        const Y = alloc(n.y);
        inner.forward(g, copyIn(x, n.x), copyIn(filter, n.w), bias ? copyIn(bias, g.outChannels) : 0, Y, relu);
        copyOut(Y, y, n.y);
      });
    },
    backpropInput(g, dy, filter, dx) {
      session(() => {
        const n = sizes(g);
        const DX = alloc(n.x);
        inner.backpropInput(g, copyIn(dy, n.y), copyIn(filter, n.w), DX);
        copyOut(DX, dx, n.x);
      });
    },
    backpropFilter(g, x, dy, dw) {
      session(() => {
        const n = sizes(g);
        const DW = alloc(n.w);
        inner.backpropFilter(g, copyIn(x, n.x), copyIn(dy, n.y), DW);
        copyOut(DW, dw, n.w);
      });
    },
    layerNorm(rows, c, eps, x, gamma, beta, y, mean, rstd) {
      session(() => {
        const Y = alloc(rows * c);
        const M = alloc(rows);
        const R = alloc(rows);
        inner.layerNorm(rows, c, eps, copyIn(x, rows * c), copyIn(gamma, c), copyIn(beta, c), Y, M, R);
        copyOut(Y, y, rows * c);
        copyOut(M, mean, rows);
        copyOut(R, rstd, rows);
      });
    },
    layerNormGrad(rows, c, dy, x, gamma, mean, rstd, dx, dgamma, dbeta) {
      session(() => {
        const DX = alloc(rows * c);
        const DG = alloc(c);
        const DB = alloc(c);
        inner.layerNormGrad(rows, c, copyIn(dy, rows * c), copyIn(x, rows * c), copyIn(gamma, c), copyIn(mean, rows), copyIn(rstd, rows), DX, DG, DB);
        copyOut(DX, dx, rows * c);
        copyOut(DG, dgamma, c);
        copyOut(DB, dbeta, c);
      });
    },
    adam(n, x, m, v, g, xOut, mOut, vOut, s) {
      session(() => {
        const [X, M, V] = [alloc(n), alloc(n), alloc(n)];
        inner.adam(n, copyIn(x, n), copyIn(m, n), copyIn(v, n), copyIn(g, n), X, M, V, s);
        copyOut(X, xOut, n);
        copyOut(M, mOut, n);
        copyOut(V, vOut, n);
      });
    },
  };
}

/**
 * The pool's kernels until one call fails (a pool worker died or stalled past the pool's bound),
 * then `single` for good, the failed call included: every kernel writes all of its outputs, so
 * running it again on one thread gives the same result. `onFail` hears why, once.
 */
export function withSingleThreadFallback(pooled: SimdKernels, single: SimdKernels, onFail: (e: Error) => void): SimdKernels {
  let active = pooled;
  const guard = <K extends Exclude<keyof SimdKernels, 'instance'>>(name: K): SimdKernels[K] =>
    ((...args: unknown[]) => {
      const call = (k: SimdKernels) => (k[name] as (...a: unknown[]) => void)(...args);
      if (active === pooled) {
        try {
          return call(pooled);
        } catch (e) {
          active = single;
          onFail(e as Error);
        }
      }
      return call(single);
    }) as SimdKernels[K];
  return {
    get instance() {
      return active.instance;
    },
    forward: guard('forward'),
    backpropInput: guard('backpropInput'),
    backpropFilter: guard('backpropFilter'),
    layerNorm: guard('layerNorm'),
    layerNormGrad: guard('layerNormGrad'),
    adam: guard('adam'),
  };
}

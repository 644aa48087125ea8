/**
 * What the server needs to know about the run's SSL method, obtained by building it once with
 * tfjs: the online and target weight specs, the declared momentum pairs, fresh initial weights,
 * and the names of the encoder's own weights. tfjs is imported lazily so that a server restarting
 * from a checkpoint (which records all of this) starts without loading it.
 */
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';

export interface MethodInfo {
  onlineSpecs: WeightSpec[];
  targetSpecs: WeightSpec[];
  momentumPairs: MomentumPair[];
  /** Names of the encoder's weights as online names (no prefix). */
  encoderNames: string[];
  /** The method's preferred target EMA momentum per server step (e.g. MoCo's 0.999), if it has one. */
  serverMomentum?: number;
}

let tfReady: Promise<void> | null = null;

/**
 * Loads tfjs once per process. The server never trains, so cpu is enough — but when it shares the
 * process with trainers (benchmarks, tests) it keeps whatever backend they already chose: switching
 * the global backend to cpu would silently move their training to tfjs's slowest backend.
 */
export async function loadTf(): Promise<void> {
  tfReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    (await import('../../shared/backends/quiet-tfjs')).silenceTfjsNodeBanner();
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-layers');
    if (tf.engine().backendName == null) await tf.setBackend('cpu');
    await tf.ready();
  })();
  return tfReady;
}

/** Builds the method, reads its specs and fresh initial weights (online + target), disposes it. */
/** `seed`: reproducible initial weights (shared/models/seeded-init.ts); absent = fresh random ones. */
export async function describeMethod(name: string, overrides: Record<string, unknown>, seed?: number): Promise<MethodInfo & { initial: WeightMap }> {
  await loadTf();
  const { createMethod, resolveMethodConfig } = await import('../../shared/ssl/registry');
  const { initialGlobalWeights } = await import('../../shared/train/local-round');
  const { groupSpecs } = await import('../../shared/models/weights-io');
  const { withSeededInit } = await import('../../shared/models/seeded-init');
  const method = withSeededInit(seed, () => createMethod(name, overrides));
  try {
    const initial = initialGlobalWeights(method);
    return {
      onlineSpecs: groupSpecs([method.online]),
      targetSpecs: method.target.models.length ? groupSpecs([method.target]) : [],
      momentumPairs: method.momentumPairs.map((p) => ({ ...p })),
      encoderNames: method.encoder.weights.map((w) => w.originalName),
      serverMomentum: preferredMomentum(resolveMethodConfig(name, overrides).serverMomentum),
      initial,
    };
  } finally {
    method.dispose();
  }
}

function preferredMomentum(m: unknown): number | undefined {
  return typeof m === 'number' && m >= 0 && m <= 1 ? m : undefined;
}

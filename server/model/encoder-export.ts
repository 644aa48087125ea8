/**
 * The product of a run: the pretrained encoder, exported in the TensorFlow.js LayersModel format
 * (model.json + one binary shard) so that `tf.loadLayersModel(url)` works unmodified, and as a
 * single safetensors file.
 *
 * Which encoder is the product: for methods with a momentum/target network (BYOL) the EMA target
 * encoder — BYOL evaluates the online encoder, but a temporal average of weights is a smoother,
 * usually slightly better model (Grill et al. 2020, and the Polyak-averaging argument), and in a
 * federated run it also averages out the last few noisy server steps. For methods without one
 * (SimCLR) it is the online encoder. Weight names in the export are the encoder's own names
 * (`enc_stem_conv/kernel`, no `target/` prefix).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TARGET_PREFIX } from '../../shared/ssl/method';
import type { WeightMap } from '../../shared/weights/weight-map';
import { loadTf } from './method-info';

export type EncoderSource = 'target' | 'online';

/** The encoder weights of a global state under the encoder's own names. */
export function productEncoderWeights(online: WeightMap, target: WeightMap, encoderNames: readonly string[]): { source: EncoderSource; weights: WeightMap } {
  const useTarget = encoderNames.every((n) => target.has(TARGET_PREFIX + n));
  const out: WeightMap = new Map();
  for (const n of encoderNames) {
    const t = useTarget ? target.get(TARGET_PREFIX + n) : online.get(n);
    if (!t) throw new Error(`encoder weight '${n}' missing from the global state`);
    out.set(n, t);
  }
  return { source: useTarget ? 'target' : 'online', weights: out };
}

export interface LayersArtifacts {
  /** model.json minus weightsManifest paths (filled by the route that serves it). */
  modelTopology: unknown;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string }>;
  weightData: Uint8Array;
}

/** One encoder per process, built lazily per encoder config (weights are overwritten per export). */
const encoders = new Map<string, Promise<tfl.LayersModel>>();

async function encoderFor(encoderConfig: unknown): Promise<tfl.LayersModel> {
  const key = JSON.stringify(encoderConfig);
  let p = encoders.get(key);
  if (!p) {
    p = (async () => {
      await loadTf();
      const { buildEncoder } = await import('../../shared/models/encoder');
      return buildEncoder(encoderConfig as Parameters<typeof buildEncoder>[0]);
    })();
    encoders.set(key, p);
  }
  return p;
}

let exportChain: Promise<unknown> = Promise.resolve();

/**
 * Writes `weights` (encoder names) into a built encoder and saves it with a tfjs save handler.
 * Exports are serialized: they share the one built encoder per config.
 */
export async function exportLayersModel(method: string, methodConfig: Record<string, unknown>, weights: WeightMap): Promise<LayersArtifacts> {
  const run = async (): Promise<LayersArtifacts> => {
    await loadTf();
    const tf = await import('@tensorflow/tfjs-core');
    const { resolveMethodConfig } = await import('../../shared/ssl/registry');
    const { writeWeights } = await import('../../shared/models/weights-io');
    const encoder = await encoderFor(resolveMethodConfig(method, methodConfig).encoder);
    writeWeights([{ prefix: '', models: [encoder] }], weights);
    let artifacts: LayersArtifacts | null = null;
    await encoder.save(
      tf.io.withSaveHandler(async (a) => {
        const data = a.weightData;
        const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : (data as ArrayBuffer);
        artifacts = { modelTopology: a.modelTopology, weightSpecs: (a.weightSpecs ?? []) as LayersArtifacts['weightSpecs'], weightData: new Uint8Array(buf) };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts) throw new Error('tfjs save handler was not called');
    return artifacts;
  };
  const p = exportChain.then(run, run);
  exportChain = p.catch(() => {});
  return p;
}

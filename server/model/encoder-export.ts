/**
 * The product of a run: the pretrained encoder, exported in the TensorFlow.js LayersModel format
 * (model.json + one binary shard) so that `tf.loadLayersModel(url)` works unmodified, and as a
 * single safetensors file.
 *
 * Which encoder is the product: the online encoder, for every method — what the papers keep and
 * evaluate (BYOL: "we only keep the encoder f_θ", Grill et al. 2020 §3.1; MoCo: the query
 * encoder). The EMA target of BYOL / MoCo was the product until measured: its momentum (0.99–0.999
 * per server version) keeps most of the random init for the hundreds of versions a run has (0.999
 * after 313 steps: 73% init), and MoCo v2 at 10k examples scored kNN 74.1% from the target against
 * 76.1% from the online encoder (1% probe 52.4 vs 56.9%; docs/quality.md). Weight names in the
 * export are the encoder's own names (`enc_stem_conv/kernel`, no `target/` prefix).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { WeightMap } from '../../shared/weights/weight-map';
import { loadTf } from './method-info';

/** Which weights an export holds; 'target' only in the metadata of exports made before the online encoder became the product. */
export type EncoderSource = 'target' | 'online';

/** The product encoder's weights of a global state (its online encoder) under the encoder's own names. */
export function productEncoderWeights(online: WeightMap, encoderNames: readonly string[]): { source: EncoderSource; weights: WeightMap } {
  const out: WeightMap = new Map();
  for (const n of encoderNames) {
    const t = online.get(n);
    if (!t) throw new Error(`encoder weight '${n}' missing from the global state`);
    out.set(n, t);
  }
  return { source: 'online', weights: out };
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

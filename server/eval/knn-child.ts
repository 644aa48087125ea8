/**
 * The evaluation child process: holds a Fashion-MNIST evaluation split in memory and scores
 * encoders sent by the server with the glimpse-fmnist-v1 protocol (shared/eval/protocol.ts: kNN,
 * 1% / 10% linear probes, collapse check), each beside raw pixels and a random-init encoder of the
 * same architecture on the same split. It runs in its own process so a multi-second embedding
 * pass never stalls the server's event loop (socket pings, acks).
 *
 * Messages (Node IPC, advanced serialization):
 *   parent → child  { id, method, methodConfig, weights: Uint8Array (GLWT, encoder names) }
 *   child → parent  { ready: true, rawPixel, split, source, trainCount, testCount } once,
 *                   then { id, metrics } | { id, error }
 * metrics: knn_top1, linear_1pct, linear_10pct (each also _raw_pixels and _random_init), embedding_std,
 * and vs_raw_pixels_z / vs_random_init_z: the kNN difference from each bar paired query by query
 * (shared/eval/paired.ts), so a subset's "+4.5 points" says whether it is more than noise.
 */
import { initNodeBackend } from '../../shared/backends/node-backend';
import { loadTrainingData } from '../../shared/data/source';
import { makeEvalSet } from '../../shared/eval/evaluate';
import { pairedDifference } from '../../shared/eval/paired';
import { probeEncoder, probeRawPixels, splitOf, withBaselines, type ProbeScores } from '../../shared/eval/protocol';
import { buildEncoder } from '../../shared/models/encoder';
import { withSeededInit } from '../../shared/models/seeded-init';
import { writeWeights } from '../../shared/models/weights-io';
import type { MethodConfig } from '../../shared/ssl/method';
import { resolveMethodConfig } from '../../shared/ssl/registry';
import { decodeWeights } from '../../shared/weights/codec';

interface Request {
  id: number;
  method: string;
  methodConfig: Record<string, unknown>;
  weights: Uint8Array;
}

const send = (m: unknown) => process.send!(m);

async function main() {
  const [data, trainCount, testCount] = [process.env.GLIMPSE_EVAL_DATA || undefined, Number(process.env.GLIMPSE_EVAL_TRAIN ?? 5000), Number(process.env.GLIMPSE_EVAL_TEST ?? 1000)];
  const linear = process.env.GLIMPSE_EVAL_LINEAR !== '0';
  await initNodeBackend('wasm');
  const { train, test, source } = loadTrainingData(data);
  const set = makeEvalSet(train, test, { trainCount, testCount });
  let rawKnn: Int32Array = new Int32Array(0);
  const rawPixels = probeRawPixels(set, { linear, onKnnPredictions: (p) => (rawKnn = p) });
  const encoders = new Map<string, ReturnType<typeof buildEncoder>>();
  // The random-init bar per architecture: seeded, so every evaluation of a run compares with one number.
  const randomInit = new Map<string, { scores: ProbeScores; knn: Int32Array }>();
  const encoderFor = (cfg: MethodConfig) => {
    const key = JSON.stringify(cfg.encoder);
    if (!encoders.has(key)) {
      encoders.set(key, buildEncoder(cfg.encoder));
      const fresh = withSeededInit(1, () => buildEncoder(cfg.encoder));
      try {
        let knn: Int32Array = new Int32Array(0);
        const { embedding_std: _, ...scores } = probeEncoder(fresh, set, { linear, onKnnPredictions: (p) => (knn = p) });
        randomInit.set(key, { scores, knn });
      } finally {
        fresh.dispose();
      }
    }
    return { encoder: encoders.get(key)!, randomInit: randomInit.get(key)! };
  };
  const split = splitOf(set, source);
  send({ ready: true, source, trainCount: set.train.count, testCount: set.test.count, rawPixel: rawPixels.knn_top1, split });

  process.on('message', (m: Request) => {
    try {
      const cfg = resolveMethodConfig(m.method, m.methodConfig as Partial<MethodConfig>);
      if (cfg.encoder.inputSize !== set.size) throw new Error(`evaluation needs ${set.size}-px encoders, this one takes ${cfg.encoder.inputSize}`);
      const { encoder, randomInit: random } = encoderFor(cfg);
      writeWeights([{ prefix: '', models: [encoder] }], decodeWeights(m.weights).weights);
      let knn: Int32Array = new Int32Array(0);
      const metrics = withBaselines(probeEncoder(encoder, set, { linear, onKnnPredictions: (p) => (knn = p) }), { rawPixels, randomInit: random.scores });
      metrics.vs_raw_pixels_z = pairedDifference(knn, rawKnn, set.test.labels).z;
      metrics.vs_random_init_z = pairedDifference(knn, random.knn, set.test.labels).z;
      send({ id: m.id, metrics });
    } catch (e) {
      send({ id: m.id, error: (e as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e) => {
  send({ fatal: (e as Error).message });
  process.exit(1);
});

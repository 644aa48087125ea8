/**
 * The evaluation child process: holds a Fashion-MNIST evaluation split in memory and scores
 * encoders sent by the server (kNN accuracy + collapse check). It runs in its own process so a
 * multi-second embedding pass never stalls the server's event loop (socket pings, acks).
 *
 * Messages (Node IPC, advanced serialization):
 *   parent → child  { id, method, methodConfig, weights: Uint8Array (GLWT, encoder names) }
 *   child → parent  { ready: true, rawPixel, random } once, then { id, metrics } | { id, error }
 */
import { initNodeBackend } from '../../shared/backends/node-backend';
import { loadTrainingData } from '../../shared/data/source';
import { embedAll } from '../../shared/eval/embed';
import { embeddingStd, evaluateEncoder, makeEvalSet, rawPixelBaseline } from '../../shared/eval/evaluate';
import { buildEncoder } from '../../shared/models/encoder';
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
  await initNodeBackend('wasm');
  const { train, test, source } = loadTrainingData(data);
  const set = makeEvalSet(train, test, { trainCount, testCount });
  const encoders = new Map<string, ReturnType<typeof buildEncoder>>();
  const encoderFor = (cfg: MethodConfig) => {
    const key = JSON.stringify(cfg.encoder);
    if (!encoders.has(key)) encoders.set(key, buildEncoder(cfg.encoder));
    return encoders.get(key)!;
  };
  send({ ready: true, source, trainCount: set.train.count, testCount: set.test.count, rawPixel: rawPixelBaseline(set) });

  process.on('message', (m: Request) => {
    try {
      const cfg = resolveMethodConfig(m.method, m.methodConfig as Partial<MethodConfig>);
      if (cfg.encoder.inputSize !== set.size) throw new Error(`evaluation needs ${set.size}-px encoders, this one takes ${cfg.encoder.inputSize}`);
      const encoder = encoderFor(cfg);
      writeWeights([{ prefix: '', models: [encoder] }], decodeWeights(m.weights).weights);
      const { knn } = evaluateEncoder(encoder, set);
      // Collapse check on a few hundred queries is enough: it is a mean of per-dimension stds.
      const n = Math.min(500, set.test.count);
      const emb = embedAll(encoder, set.test.images.subarray(0, n * set.size * set.size * set.channels), n, set.size, set.channels);
      send({ id: m.id, metrics: { knn, embeddingStd: embeddingStd(emb, emb.length / n) } });
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

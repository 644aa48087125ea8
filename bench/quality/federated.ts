/**
 * Federated curves, simulated in process with the server's own aggregation maths: every round each
 * of the `clients` contributors runs a real local round (runLocalRound: a fresh client optimizer or
 * one kept across rounds, `localSteps` steps from the current global weights, delta = local −
 * global) on its own shard, packed as the contributors pack uploads when asked (top-k, int8, with
 * error feedback),
 * then one FedBuff step (server/aggregation/fedbuff.ts: example-weighted mean of the deltas,
 * FedAvg server optimizer, the method's EMA target) folds them — K = clients, staleness 0, as a
 * synchronous round of the real server. What is left out is only the transport (Socket.IO, the
 * delta codec), which bench:federated and the integration tests exercise.
 * Shards: IID, or Dirichlet label skew (Hsu et al. 2019) with the given α.
 */
import type { LabeledImages } from '../../shared/data/idx';
import { shard } from '../../shared/data/shard';
import { groupSpecs } from '../../shared/models/weights-io';
import { withSeededInit } from '../../shared/models/seeded-init';
import { createMethod, resolveMethodConfig } from '../../shared/ssl/registry';
import { KeptOptimizer, initialGlobalWeights, loadGlobal, runLocalRound } from '../../shared/train/local-round';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../server/aggregation/fedbuff';
import { DEFAULT_SERVER_OPTIMIZER, initServerOptimizer, type ServerOptimizerConfig } from '../../server/aggregation/server-optimizer';
import { compressWithFeedback } from '../../shared/federation/error-feedback';
import type { UploadCompression } from '../../shared/protocol/compression';
import { unpackTensor } from '../../shared/weights/pack';
import type { WeightMap } from '../../shared/weights/weight-map';
import { l2NormOf } from '../../server/aggregation/fold';
import { runCurve, type Curve, type CurveContext } from './curves';
import { Uint8BatchSource } from './data';
import type { Recipe } from './recipe';

export interface FederatedSetting {
  clients: number;
  /** undefined: IID shards. */
  alpha?: number;
  /** 'kept': each contributor keeps its optimizer across rounds (KeptOptimizer); default 'fresh'. */
  clientOptimizer?: 'fresh' | 'kept';
  /** The uploads as contributors pack them (top-k, int8; error feedback kept per client); absent: float32. */
  upload?: UploadCompression;
  serverOptimizer?: ServerOptimizerConfig;
  /**
   * Versions each round's base lags the newest (default 0: a synchronous round). 1 is what two
   * contributors that never wait do: each starts its next round before the other's update makes
   * the next version, so every update is one version stale and two consecutive rounds share a base.
   */
  delay?: number;
  /** The server step's rate follows a cosine from its value to 0 over the curve's last checkpoint. */
  serverDecay?: boolean;
}

export function settingName(s: FederatedSetting): string {
  return s.alpha === undefined ? `federated IID ×${s.clients}` : `federated non-IID α=${s.alpha} ×${s.clients}`;
}

/** What the server receives from `delta` packed as `up` with the client's error feedback; updates `residuals[c]`. */
function uploaded(delta: WeightMap, up: UploadCompression | undefined, residuals: (WeightMap | null)[], c: number): WeightMap {
  if (!up || (up.dtype === 'float32' && !up.topK)) return delta;
  const r = compressWithFeedback(delta, up.errorFeedback ? residuals[c] : null, { dtype: up.dtype, block: up.block, topK: up.topK });
  residuals[c] = up.errorFeedback ? r.residual : null;
  return new Map([...r.packed].map(([name, p]) => [name, { shape: [...delta.get(name)!.shape], data: unpackTensor(p) }]));
}

export async function federatedCurve(method: string, recipe: Recipe, train: LabeledImages, s: FederatedSetting, ctx: CurveContext): Promise<Curve> {
  const config = resolveMethodConfig(method, recipe.methodConfig);
  const serverOptimizer = s.serverOptimizer ?? DEFAULT_SERVER_OPTIMIZER;
  // Seeded: every setting of a method starts from the same random weights (equal 0-example points).
  const m = withSeededInit(recipe.seed, () => createMethod(method, recipe.methodConfig));
  const online = groupSpecs([m.online]);
  const pairs = m.momentumPairs;
  let state: GlobalState = (() => {
    const all = initialGlobalWeights(m);
    const onlineW = new Map(online.map((sp) => [sp.name, all.get(sp.name)!]));
    const target = new Map([...all].filter(([k]) => !onlineW.has(k)));
    return { version: 0, online: onlineW, target, optimizer: initServerOptimizer(serverOptimizer, online) };
  })();
  const parts = shard(train.labels, s.clients, s.alpha === undefined ? { mode: 'iid', seed: recipe.seed } : { mode: 'dirichlet', alpha: s.alpha, seed: recipe.seed });
  const sources = parts.map((idx, i) => new Uint8BatchSource(train, recipe.seed * 100 + i, idx));
  const ema = { base: typeof config.serverMomentum === 'number' ? config.serverMomentum : recipe.targetMomentum, kind: 'constant' as const };
  const perRound = s.clients * recipe.localSteps * recipe.batch;
  const versions = Math.max(1, Math.round(ctx.checkpoints[ctx.checkpoints.length - 1] / perRound));
  const stepConfig = (v: number): ServerOptimizerConfig =>
    s.serverDecay ? { ...serverOptimizer, lr: serverOptimizer.lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(v, versions)) / versions)) } : serverOptimizer;
  const kept = s.clientOptimizer === 'kept' ? parts.map(() => new KeptOptimizer(m, recipe.optimizer)) : null;
  const residuals: (WeightMap | null)[] = parts.map(() => null);
  const delay = s.delay ?? 0;
  const history: WeightMap[] = [];
  let seen = 0;
  const setting = settingName(s);
  try {
    return await runCurve({ method, setting, points: [], notes: `K = ${s.clients} clients per round, ${recipe.localSteps} local steps × ${recipe.batch}, ${s.clientOptimizer ?? 'fresh'} client optimizer, base ${delay} version(s) behind, upload ${s.upload ? JSON.stringify(s.upload) : 'float32'}, server ${JSON.stringify(serverOptimizer)}${s.serverDecay ? ` cosine to 0 over ${versions} versions` : ''}, shard sizes ${parts.map((p) => p.length).join('/')}` }, ctx, () => {
      loadGlobal(m, new Map([...state.online, ...state.target]));
      return m.encoder; // the product (server/model/encoder-export.ts)
    }, async (to) => {
      while (seen + perRound / 2 < to) {
        history.push(new Map([...state.online, ...state.target]));
        if (history.length > delay + 1) history.shift();
        const global = history[0];
        const baseVersion = Math.max(0, state.version - delay);
        const updates: BufferedUpdate[] = [];
        for (let c = 0; c < s.clients; c++) {
          const r = await runLocalRound({
            method: m, global, steps: recipe.localSteps, batchSize: recipe.batch, nextBatch: (b) => sources[c].next(b),
            optimizer: recipe.optimizer, kept: kept?.[c], seed: recipe.seed * 1_000_003 + state.version * 97 + c * 7919,
          });
          const loss = r.metrics.losses.reduce((a, b) => a + b, 0) / r.metrics.losses.length;
          const delta = uploaded(r.delta, s.upload, residuals, c);
          updates.push({ updateId: `${state.version}-${c}`, contributorId: `c${c}`, baseVersion, examples: r.metrics.examples, loss, norm: l2NormOf(delta), clipped: false, receivedAt: Date.now(), delta });
        }
        state = fedbuffStep(state, updates, online, pairs, { stalenessExponent: 0.5, serverOptimizer: stepConfig(state.version), ema }).state;
        seen += perRound;
      }
      return seen;
    });
  } finally {
    for (const k of kept ?? []) k.dispose();
    m.dispose();
  }
}

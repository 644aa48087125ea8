/**
 * Federated curves, simulated in process with the server's own aggregation maths: every round each
 * of the `clients` contributors runs a real local round (runLocalRound: fresh client optimizer,
 * `localSteps` steps from the current global weights, delta = local − global) on its own shard,
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
import { initialGlobalWeights, loadGlobal, runLocalRound } from '../../shared/train/local-round';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../server/aggregation/fedbuff';
import { DEFAULT_SERVER_OPTIMIZER, initServerOptimizer } from '../../server/aggregation/server-optimizer';
import { l2NormOf } from '../../server/aggregation/fold';
import { runCurve, type Curve, type CurveContext } from './curves';
import { Uint8BatchSource } from './data';
import type { Recipe } from './recipe';

export interface FederatedSetting {
  clients: number;
  /** undefined: IID shards. */
  alpha?: number;
}

export function settingName(s: FederatedSetting): string {
  return s.alpha === undefined ? `federated IID ×${s.clients}` : `federated non-IID α=${s.alpha} ×${s.clients}`;
}

export async function federatedCurve(method: string, recipe: Recipe, train: LabeledImages, s: FederatedSetting, ctx: CurveContext): Promise<Curve> {
  const config = resolveMethodConfig(method, recipe.methodConfig);
  // Seeded: every setting of a method starts from the same random weights (equal 0-example points).
  const m = withSeededInit(recipe.seed, () => createMethod(method, recipe.methodConfig));
  const online = groupSpecs([m.online]);
  const pairs = m.momentumPairs;
  let state: GlobalState = (() => {
    const all = initialGlobalWeights(m);
    const onlineW = new Map(online.map((sp) => [sp.name, all.get(sp.name)!]));
    const target = new Map([...all].filter(([k]) => !onlineW.has(k)));
    return { version: 0, online: onlineW, target, optimizer: initServerOptimizer(DEFAULT_SERVER_OPTIMIZER, online) };
  })();
  const parts = shard(train.labels, s.clients, s.alpha === undefined ? { mode: 'iid', seed: recipe.seed } : { mode: 'dirichlet', alpha: s.alpha, seed: recipe.seed });
  const sources = parts.map((idx, i) => new Uint8BatchSource(train, recipe.seed * 100 + i, idx));
  const ema = { base: typeof config.serverMomentum === 'number' ? config.serverMomentum : recipe.targetMomentum, kind: 'constant' as const };
  const perRound = s.clients * recipe.localSteps * recipe.batch;
  let seen = 0;
  const setting = settingName(s);
  try {
    return await runCurve({ method, setting, points: [], notes: `K = ${s.clients} clients per round, ${recipe.localSteps} local steps × ${recipe.batch}, FedAvg server step, shard sizes ${parts.map((p) => p.length).join('/')}` }, ctx, () => {
      loadGlobal(m, new Map([...state.online, ...state.target]));
      return m.encoder; // the product (server/model/encoder-export.ts)
    }, async (to) => {
      while (seen + perRound / 2 < to) {
        const global = new Map([...state.online, ...state.target]);
        const updates: BufferedUpdate[] = [];
        for (let c = 0; c < s.clients; c++) {
          const r = await runLocalRound({
            method: m, global, steps: recipe.localSteps, batchSize: recipe.batch, nextBatch: (b) => sources[c].next(b),
            optimizer: recipe.optimizer, seed: recipe.seed * 1_000_003 + state.version * 97 + c * 7919,
          });
          const loss = r.metrics.losses.reduce((a, b) => a + b, 0) / r.metrics.losses.length;
          updates.push({ updateId: `${state.version}-${c}`, contributorId: `c${c}`, baseVersion: state.version, examples: r.metrics.examples, loss, norm: l2NormOf(r.delta), clipped: false, receivedAt: Date.now(), delta: r.delta });
        }
        state = fedbuffStep(state, updates, online, pairs, { stalenessExponent: 0.5, serverOptimizer: DEFAULT_SERVER_OPTIMIZER, ema }).state;
        seen += perRound;
      }
      return seen;
    });
  } finally {
    m.dispose();
  }
}

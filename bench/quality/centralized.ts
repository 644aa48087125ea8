/** The centralized curve: one model, CentralizedTrainer (persistent Adam, warm-up + cosine over the run). */
import type { LabeledImages } from '../../shared/data/idx';
import { syncTargetToOnline } from '../../shared/ssl/momentum';
import { withSeededInit } from '../../shared/models/seeded-init';
import { createMethod, resolveMethodConfig } from '../../shared/ssl/registry';
import { CentralizedTrainer } from '../../shared/train/centralized';
import { runCurve, type Curve, type CurveContext } from './curves';
import { Uint8BatchSource } from './data';
import type { Recipe } from './recipe';

export async function centralizedCurve(method: string, recipe: Recipe, train: LabeledImages, ctx: CurveContext): Promise<Curve> {
  const config = resolveMethodConfig(method, recipe.methodConfig);
  // Seeded: every setting of a method starts from the same random weights (equal 0-example points).
  const m = withSeededInit(recipe.seed, () => createMethod(method, recipe.methodConfig));
  syncTargetToOnline(m);
  const total = Math.round(ctx.checkpoints[ctx.checkpoints.length - 1] / recipe.batch);
  const trainer = new CentralizedTrainer({
    method: m, optimizer: recipe.optimizer, seed: recipe.seed,
    schedule: { warmupSteps: Math.round(total * recipe.warmup), totalSteps: total },
    targetMomentum: typeof config.serverMomentum === 'number' ? config.serverMomentum : recipe.targetMomentum,
  });
  const src = new Uint8BatchSource(train, recipe.seed + 6);
  try {
    // The product encoder, as the server exports it: the online one (server/model/encoder-export.ts).
    return await runCurve({ method, setting: 'centralized', points: [] }, ctx, () => m.encoder, async (to) => {
      const steps = Math.max(0, Math.round(to / recipe.batch) - trainer.step);
      trainer.train(steps, recipe.batch, (b) => src.next(b));
      return trainer.step * recipe.batch;
    });
  } finally {
    trainer.dispose();
    m.dispose();
  }
}

/**
 * Moving weights between tfjs models and name-keyed WeightMaps. The wire name of a weight is
 * `prefix + originalName` (`enc_stem_conv/kernel`, `target/enc_stem_conv/kernel`): tfjs keeps
 * `originalName` stable while it uniquifies variable names per process.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { WeightMismatchError, type WeightMap, type WeightSpec } from '../weights/weight-map';

/** Models whose weights travel under a common name prefix ('' for online, 'target/' for the momentum twin). */
export interface ModelGroup {
  prefix: string;
  models: tfl.LayersModel[];
}

function layerVariables(group: ModelGroup) {
  return group.models.flatMap((m) => m.weights.map((w) => ({ name: group.prefix + w.originalName, variable: w })));
}

export function groupSpecs(groups: ModelGroup[]): WeightSpec[] {
  return groups.flatMap((g) => layerVariables(g).map(({ name, variable }) => ({ name, shape: [...variable.shape] as number[] })));
}

/** Reads every weight (trainable or not) of the groups. */
export function readWeights(groups: ModelGroup[]): WeightMap {
  const out: WeightMap = new Map();
  for (const g of groups) {
    for (const { name, variable } of layerVariables(g)) {
      if (out.has(name)) throw new Error(`duplicate weight name '${name}'`);
      out.set(name, { shape: [...variable.shape] as number[], data: new Float32Array(variable.read().dataSync() as Float32Array) });
    }
  }
  return out;
}

/** {@link readWeights} without blocking: values are read with `await data()`, as GPU backends need. */
export async function readWeightsAsync(groups: ModelGroup[]): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const g of groups) {
    for (const { name, variable } of layerVariables(g)) {
      if (out.has(name)) throw new Error(`duplicate weight name '${name}'`);
      out.set(name, { shape: [...variable.shape] as number[], data: new Float32Array((await variable.read().data()) as Float32Array) });
    }
  }
  return out;
}

/**
 * Writes the entries of `weights` into the groups' variables. Every variable of the groups must be
 * present with its exact shape unless `partial` is set; names that belong to no variable are an error.
 */
export function writeWeights(groups: ModelGroup[], weights: WeightMap, partial = false): void {
  const vars = groups.flatMap(layerVariables);
  const known = new Set(vars.map((v) => v.name));
  for (const name of weights.keys()) if (!known.has(name)) throw new WeightMismatchError(`unknown weight '${name}'`);
  for (const { name, variable } of vars) {
    const w = weights.get(name);
    if (!w) {
      if (partial) continue;
      throw new WeightMismatchError(`missing weight '${name}'`);
    }
    const shape = variable.shape as number[];
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new WeightMismatchError(`weight '${name}' has shape [${w.shape}] but the model has [${shape}]`);
    }
    const t = tf.tensor(w.data, shape, 'float32');
    variable.write(t);
    t.dispose();
  }
}

/** The tf.Variables that an optimizer should update. */
export function trainableVariables(models: tfl.LayersModel[]): tf.Variable[] {
  return models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
}

/**
 * A global patch of tfjs-layers' LayersModel.apply: while encoder shards are active
 * (shardEncoders), applying a Glimpse encoder (shared/models/encoder.ts) or its feature-map model
 * (shared/ssl/feature-map.ts) to a concrete batch runs data-parallel on the shard workers
 * (encoder-shards.ts). Other models (the small heads), symbolic calls (model building) and
 * encoders with batch statistics keep the stock implementation; saved models are unaffected.
 * While shards are active, SimCLR's, BYOL's and MoCo's augmented views are computed on them too.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setViewExecutor } from '../augment/views';
import type { EncoderShards } from './encoder-shards';

/** Model names of buildEncoder's encoder and encoderFeatureModel's view of it (checked by test/shared/parallel). */
export const ENCODER_MODEL_NAMES: ReadonlySet<string> = new Set(['glimpse_encoder', 'glimpse_encoder_features']);

type Apply = (this: tfl.LayersModel, inputs: unknown, kwargs?: Record<string, unknown>) => unknown;

let active: EncoderShards | null = null;

/** The shards encoder calls go through, or null. */
export function activeEncoderShards(): EncoderShards | null {
  return active;
}

/** Routes encoder calls through `shards` (null: back to the stock path). */
export function shardEncoders(shards: EncoderShards | null): void {
  const proto = tfl.LayersModel.prototype as unknown as { apply: Apply; __glimpseSharded?: boolean };
  if (!proto.__glimpseSharded) {
    const stock = proto.apply;
    proto.apply = function (this: tfl.LayersModel, inputs, kwargs) {
      if (active && ENCODER_MODEL_NAMES.has(this.name) && inputs instanceof tf.Tensor && active.eligible(this)) {
        return active.apply(this, inputs, (kwargs ?? {}) as { training?: boolean }, () => stock.call(this, inputs, kwargs) as tf.Tensor);
      }
      return stock.call(this, inputs, kwargs);
    };
    proto.__glimpseSharded = true;
  }
  active = shards;
  // The shards also compute a step's augmented views, one per worker (shared/augment/views.ts).
  setViewExecutor(shards ? (images, views) => shards.augmentViews(images, views) : null);
}

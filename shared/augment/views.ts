/**
 * Several views of one batch at once (SimCLR's, BYOL's and MoCo's two). A view is a pure function
 * of (images, params, seed), so where it is computed does not change it; a host with threads that
 * are idle while the trainer augments — the data-parallel encoder shards of shared/parallel —
 * registers an executor that computes one view per thread. Without one, or where it declines
 * (returns null), the views are computed here, one after the other.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { augment, type ViewParams } from './pipeline';

export interface ViewSpec {
  params: ViewParams;
  seed: number;
}

/** Computes `views` of `images` elsewhere, each exactly as {@link augment} would; null: declined. */
export type ViewExecutor = (images: tf.Tensor4D, views: readonly ViewSpec[]) => tf.Tensor4D[] | null;

let executor: ViewExecutor | null = null;

/** Routes {@link augmentViews} through `e` (null: back to computing them on this thread). */
export function setViewExecutor(e: ViewExecutor | null): void {
  executor = e;
}

/** `views.map((v) => augment(images, v.params, v.seed))`, on the registered executor where there is one. */
export function augmentViews(images: tf.Tensor4D, views: readonly ViewSpec[]): tf.Tensor4D[] {
  return executor?.(images, views) ?? views.map((v) => augment(images, v.params, v.seed));
}

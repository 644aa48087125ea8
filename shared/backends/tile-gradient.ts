/**
 * A fast gradient for Tile, registered for every backend (gradients are per op, not per backend).
 * tfjs-core's own adds one Slice + Add per repetition: tfjs-layers' LayerNormalization tiles gamma
 * and beta [1, 1, 1, C] over the whole activation, so one training step ran tens of thousands of
 * kernels (65 536 slices for a [1,1,1,32] gamma over [64,32,32,32]), each with a fixed dispatch
 * cost that dwarfs its arithmetic.
 *
 * dx = dy summed over the repetitions. The broadcast case (every tiled axis of x has size 1) is
 * one sum over those axes — cheap on every backend; a general tiling reshapes dy to
 * [reps0, s0, reps1, s1, …] and sums the reps axes (a high-rank strided sum, which can be slow on
 * emulated WebGPU, so it is kept for the rare non-broadcast case).
 */
import * as tf from '@tensorflow/tfjs-core';

export const tileGradient: tf.GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x] = saved;
    const reps = attrs.reps as unknown as number[];
    const g = dy as tf.Tensor;
    return {
      x: () => {
        const tiled = reps.flatMap((r, i) => (r !== 1 ? [i] : []));
        if (tiled.length === 0) return tf.reshape(g, x.shape);
        if (tiled.every((i) => x.shape[i] === 1)) return tf.sum(g, tiled, true);
        const shape: number[] = [];
        const axes: number[] = [];
        x.shape.forEach((d, i) => {
          if (reps[i] !== 1) {
            axes.push(shape.length);
            shape.push(reps[i]);
          }
          shape.push(d);
        });
        return tf.reshape(tf.sum(tf.reshape(g, shape), axes), x.shape);
      },
    };
  },
};

/**
 * Replaces tfjs-core's Tile gradient. Call after tfjs-layers is loaded if it is loaded lazily
 * (its import registers the stock gradients again).
 */
export function registerTileGradient(): void {
  tf.registerGradient(tileGradient);
}

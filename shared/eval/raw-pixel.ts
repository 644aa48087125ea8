/**
 * The raw-pixel baseline: the same weighted kNN as for learned embeddings, run on flattened
 * pixels. A pretrained encoder is only interesting if its kNN accuracy beats this number.
 */
import { knnAccuracy, type KnnOptions } from './knn';

export interface RawPixelInputs extends KnnOptions {
  /** `[trainCount, ...]` pixels, any layout (e.g. `[N, 28, 28]` uint8 or `[N, 32, 32, 3]` float). */
  trainImages: Uint8Array | Float32Array;
  trainLabels: ArrayLike<number>;
  trainCount: number;
  /** `[testCount, ...]`, same per-image layout as `trainImages`. */
  testImages: Uint8Array | Float32Array;
  testLabels: ArrayLike<number>;
  testCount: number;
  numClasses: number;
}

/**
 * Weighted kNN accuracy on flattened pixels (cosine similarity, so the pixel scale — 0..255 or
 * 0..1 — does not matter and no rescaling is done).
 */
export function rawPixelKnnAccuracy(inp: RawPixelInputs): number {
  const dim = inp.trainImages.length / inp.trainCount;
  if (!Number.isInteger(dim) || inp.testImages.length !== dim * inp.testCount) {
    throw new Error(
      `rawPixelKnn: ${inp.trainImages.length} train / ${inp.testImages.length} test values do not split into ` +
        `${inp.trainCount} / ${inp.testCount} images of one size`,
    );
  }
  return knnAccuracy({
    ...inp,
    trainEmb: Float32Array.from(inp.trainImages),
    testEmb: Float32Array.from(inp.testImages),
    dim,
  });
}

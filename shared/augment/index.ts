/**
 * Batched, seeded image augmentations for self-supervised views (SimCLR, BYOL). Every op takes
 * and returns `[batch, h, w, c]` float tensors in `[0, 1]` of a fixed shape, is synchronous, and
 * uses only ops that the cpu, wasm, webgl and webgpu backends all implement.
 */
export { augment, BYOL_VIEW_1, BYOL_VIEW_2, SIMCLR_VIEW, SIMCLR_SMALL_VIEW, GRAYSCALE_SMALL_VIEW, GRAYSCALE_LAYOUT_VIEW, viewShape, withViewOverrides, type ViewParams, type ViewOverrides } from './pipeline';
export { augmentViews, setViewExecutor, type ViewExecutor, type ViewSpec } from './views';
export {
  randomResizedCrop,
  sampleCropBox,
  cropBoxesToNormalized,
  type RandomResizedCropOptions,
  type CropBox,
} from './random-resized-crop';
export { randomHorizontalFlip } from './flip';
export { randomShift, randomErase, sampleEraseBoxes, type EraseBox } from './shift-erase';
export {
  randomColorJitter,
  randomGrayscale,
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustHue,
  grayscale,
  rgbToGrayscale,
  type ColorJitterOptions,
  type JitterStrengths,
} from './color-jitter';
export { randomGaussianBlur, gaussianBlur, gaussianKernel1d, blurKernelSize, type GaussianBlurOptions } from './blur';
export { randomSolarize, solarize } from './solarize';
export { mulberry32, deriveSeed, type Rand } from './rng';

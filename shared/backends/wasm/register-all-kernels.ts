/**
 * Training kernels for the tfjs wasm backend (4.22.0), registered from one list as
 * tfjs-backend-wasm's own register_all_kernels does.
 *
 * Stock tfjs-backend-wasm cannot train a conv net: Conv2DBackpropFilter and both depthwise
 * backprop kernels are missing, Conv2DBackpropInput is a scalar loop, MatMul with a transpose
 * flag (every dense-layer gradient) or a batch > 1 leaves XNNPACK for a scalar path, and Tile is
 * slow. The kernels in ./kernels/ either reshape the work onto the fast XNNPACK kernels wasm
 * already has (Conv2D, batch-1 MatMul) or do memory-bound rearrangements on the wasm heap in JS.
 * Also replaced, because they dominated a training step (profile: `npm run bench:step`):
 * - Identity and same-dtype Cast, which stock wasm implements as copies;
 * - GatherV2 and AvgPoolGrad, element-by-element loops in stock wasm (the shift view's gather and
 *   the grid pooling's gradient: ~17 ms of a recipe step);
 * - Adam's dozen whole-tensor kernels per variable, as one GlimpseAdam (../../train/fused-adam.ts);
 * - tfjs-layers' LayerNormalization while the wasm backend is active (patch-layer-normalization.ts);
 * - the *gradient* of Tile (../tile-gradient.ts). Gradients are registered per kernel name, not
 *   per backend, so this one applies to every backend.
 *
 * Every kernel is checked against the cpu backend in test/shared/backends/wasm/.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerTileGradient } from '../tile-gradient';
// Side effect: registers the stock wasm kernels first, so ours replace them rather than the
// reverse when the wasm package is imported later.
import '@tensorflow/tfjs-backend-wasm';
// Side effect: registers tfjs-core's gradients (the Node bundle of tfjs-core does not), so that
// our Tile gradient overrides the stock one instead of being overwritten by it later.
import '@tensorflow/tfjs-layers';
import { BACKEND } from './kernel-utils';
import { batchMatMulConfig } from './kernels/BatchMatMul';
import { castConfig } from './kernels/Cast';
import { conv2DConfig } from './kernels/Conv2D';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput';
import { depthwiseConv2dNativeBackpropFilterConfig } from './kernels/DepthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './kernels/DepthwiseConv2dNativeBackpropInput';
import { fusedConv2DConfig } from './kernels/FusedConv2D';
import { adamConfig } from './kernels/GlimpseAdam';
import { avgPoolGradConfig } from './kernels/AvgPoolGrad';
import { gatherV2Config } from './kernels/GatherV2';
import { layerNormConfig } from './kernels/GlimpseLayerNorm';
import { layerNormGradConfig } from './kernels/GlimpseLayerNormGrad';
import { identityConfig } from './kernels/Identity';
import { tileConfig } from './kernels/Tile';
import { fusedMatMulConfig } from './kernels/_FusedMatMul';
import { patchLayerNormalization } from './patch-layer-normalization';
import { captureStockKernels } from './stock-kernels';

/** Every kernel Glimpse registers for 'wasm' (replacing the stock one where it exists). */
export const GLIMPSE_WASM_KERNEL_CONFIGS: readonly tf.KernelConfig[] = [
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  tileConfig,
  identityConfig,
  castConfig,
  layerNormConfig,
  layerNormGradConfig,
  adamConfig,
  gatherV2Config,
  avgPoolGradConfig,
];

/** Names of the wasm kernels Glimpse registers. */
export const GLIMPSE_WASM_KERNELS: readonly string[] = GLIMPSE_WASM_KERNEL_CONFIGS.map((k) => k.kernelName);

let registered = false;

/**
 * Registers Glimpse's training kernels for the 'wasm' backend, the fast Tile gradient for all
 * backends, and the wasm-only fused LayerNormalization. Idempotent; call before or after
 * `tf.setBackend('wasm')`, but after tfjs-layers is loaded if it is loaded lazily (its import
 * re-registers the stock gradients).
 */
export function registerGlimpseWasmKernels(): void {
  if (registered) return;
  captureStockKernels();
  for (const config of GLIMPSE_WASM_KERNEL_CONFIGS) {
    const old = tf.getKernel(config.kernelName, BACKEND);
    if (old != null) tf.unregisterKernel(config.kernelName, BACKEND);
    // Keep the stock setupFunc: it binds the wasm export the stock kernelFunc (which we call)
    // uses, and runs when the backend initialises.
    tf.registerKernel({ ...config, ...(old?.setupFunc ? { setupFunc: old.setupFunc } : {}) });
  }
  // Quietly replace tfjs-core's Tile gradient (registerGradient warns only in DEBUG mode).
  registerTileGradient();
  patchLayerNormalization();
  registered = true;
}

/**
 * Silences the banner tfjs's cpu backend prints in every Node process on its first tensor ("Hi,
 * looks like you are running TensorFlow.js in Node.js … install our node backend"). It tells
 * users to install tfjs-node (native TensorFlow), which Glimpse does not use: it trains on wasm
 * with its own kernels, and the server needs only the cpu backend.
 *
 * The switch is tfjs-core's production mode: the banner goes through `backend_util.warn`, which
 * prints only when neither `PROD` nor `IS_TEST` is set (tfjs-core src/log.ts); in tfjs 4.22 the
 * flag does nothing else than silence tfjs's own warnings (it is read only in log.ts and
 * environment.ts). Backend initialisation failures, the other warnings it hides, are reported
 * by initNodeBackend's own fallback.
 */
import * as tf from '@tensorflow/tfjs-core';

export function silenceTfjsNodeBanner(): void {
  if (!tf.env().getBool('PROD')) tf.enableProdMode();
}

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { silenceTfjsNodeBanner } from '../../shared/backends/quiet-tfjs';

/** Tests run on the cpu backend unless they say otherwise: it is the reference implementation. */
export async function useCpu(): Promise<typeof tf> {
  silenceTfjsNodeBanner();
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

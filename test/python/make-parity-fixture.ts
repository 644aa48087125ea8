/**
 * `node --import tsx test/python/make-parity-fixture.ts DIR`: writes the tfjs parity fixture
 * (parity-fixture.ts) into DIR on the cpu backend. python/tests/conftest.py runs it when pytest is
 * started by hand; the vitest wrapper writes the fixture itself.
 */
import { mkdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { silenceTfjsNodeBanner } from '../../shared/backends/quiet-tfjs';
import { writeParityFixture } from './parity-fixture';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: make-parity-fixture.ts DIR');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
silenceTfjsNodeBanner();
await tf.setBackend('cpu');
const cases = writeParityFixture(dir);
console.log(`wrote ${cases.length} parity cases to ${dir}`);

/**
 * DeltaMemory (core/delta-memory.ts): a released delta's buffer decodes the next upload of its
 * size; a buffer is handed back once only, and never while a delta derived from it (the norm
 * guard's clip shares the positions) may still be read.
 */
import { describe, expect, it } from 'vitest';
import { decodeDelta } from '../../../server/aggregation/validate';
import { scaled } from '../../../server/aggregation/fold';
import { DeltaMemory } from '../../../server/core/delta-memory';
import { encodeWeights } from '../../../shared/weights/codec';
import type { WeightMap, WeightSpec } from '../../../shared/weights/weight-map';

const specs: WeightSpec[] = [{ name: 'a', shape: [40] }, { name: 'b', shape: [3, 5] }];
const delta = (seed: number): WeightMap => new Map(specs.map((s, i) => [s.name, { shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((x, y) => x * y, 1) }, (_, k) => Math.sin(seed + i + k)) }]));
const bytes = (seed: number, topK?: number) => encodeWeights(delta(seed), topK ? { pack: { dtype: 'int8', topK } } : {});
const bufferOf = (m: WeightMap) => { const t = m.values().next().value!; return (t.nz ?? t.data).buffer; };

function decoded(mem: DeltaMemory, b: Uint8Array): WeightMap {
  const d = decodeDelta(b, specs, mem.alloc);
  if (!d.ok) throw new Error(d.reason);
  return d.value;
}

describe('DeltaMemory', () => {
  it('reuses a released buffer, once, for the next delta of its size', () => {
    for (const topK of [undefined, 0.25]) {
      const mem = new DeltaMemory();
      const first = decoded(mem, bytes(1, topK));
      const held = decoded(mem, bytes(2, topK));
      expect(bufferOf(held)).not.toBe(bufferOf(first));
      const buffer = bufferOf(first);
      mem.release(first);
      mem.release(first); // a second release is ignored
      const next = decoded(mem, bytes(3, topK));
      expect(bufferOf(next)).toBe(buffer);
      expect(bufferOf(decoded(mem, bytes(4, topK)))).not.toBe(buffer);
      // The reused memory holds the new delta exactly; the held one is untouched.
      const fresh = decodeDelta(bytes(3, topK), specs);
      const again = decodeDelta(bytes(2, topK), specs);
      if (!fresh.ok || !again.ok) throw new Error('decode');
      for (const s of specs) {
        expect(Array.from(next.get(s.name)!.data)).toEqual(Array.from(fresh.value.get(s.name)!.data));
        expect(Array.from(held.get(s.name)!.data)).toEqual(Array.from(again.value.get(s.name)!.data));
      }
    }
  });

  it('never hands back memory a derived delta still shares', () => {
    const mem = new DeltaMemory();
    const original = decoded(mem, bytes(1, 0.25));
    const clipped = scaled(original, 0.5);
    expect(bufferOf(clipped)).toBe(bufferOf(original)); // positions shared, values fresh
    mem.release(clipped);
    expect(bufferOf(decoded(mem, bytes(2, 0.25)))).not.toBe(bufferOf(original));
  });
});

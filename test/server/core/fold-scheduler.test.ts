/**
 * When server steps run, with a stand-in step over a counter "buffer": a full buffer folds at
 * once (and again while still full), flushAfterMs folds a partial one, pause holds steps back
 * until resume while an explicit flush still folds, a failed step is retried, stop ends it all.
 */
import { describe, expect, it } from 'vitest';
import { FoldScheduler } from '../../../server/core/fold-scheduler';

function harness(o: { bufferSize?: number; flushAfterMs?: number; fail?: number } = {}) {
  let fill = 0;
  let failures = o.fail ?? 0;
  const steps: number[] = [];
  let stepDone: () => void = () => {};
  const s = new FoldScheduler({
    bufferSize: o.bufferSize ?? 3,
    flushAfterMs: o.flushAfterMs ?? 0,
    retryMs: 20,
    fill: () => fill,
    step: async () => {
      await Promise.resolve();
      if (failures > 0) {
        failures--;
        stepDone();
        return false;
      }
      steps.push(fill);
      fill = 0;
      stepDone();
      return true;
    },
  });
  const nextStep = () => new Promise<void>((r) => (stepDone = r));
  return { s, steps, add: (n: number) => ((fill += n), s.poke()), fill: () => fill, nextStep };
}

describe('fold scheduler', () => {
  it('folds a full buffer at once, not a partial one', async () => {
    const h = harness();
    h.add(2);
    expect(h.s.stepping).toBe(false);
    h.add(2);
    expect(h.s.stepping).toBe(true);
    await h.s.settled();
    expect(h.steps).toEqual([4]);
    expect(h.s.stepping).toBe(false);
  });

  it('folds a partial buffer after flushAfterMs', async () => {
    const h = harness({ flushAfterMs: 30 });
    const stepped = h.nextStep();
    h.add(1);
    await stepped;
    expect(h.steps).toEqual([1]);
  });

  it('pause holds steps back (settled once a running step ends); flush still folds; resume folds what filled', async () => {
    const h = harness();
    h.add(3);
    expect(h.s.pause()).toBe(true);
    expect(h.s.pause()).toBe(false);
    expect(h.s.pausedAt).toBeNull(); // the running step finishes first
    await h.s.settled();
    expect(h.s.pausedAt).toBeTypeOf('number');
    h.add(5);
    expect(h.s.stepping).toBe(false);
    await h.s.flush();
    expect(h.steps).toEqual([3, 5]);
    h.add(4);
    expect(h.s.stepping).toBe(false);
    expect(h.s.resume()).toBe(true);
    expect(h.s.resume()).toBe(false);
    expect(h.s.pausedAt).toBeNull();
    await h.s.settled();
    expect(h.steps).toEqual([3, 5, 4]);
  });

  it('retries a failed step; stop() cancels timers and further steps', async () => {
    const h = harness({ fail: 1 });
    const failed = h.nextStep();
    h.add(3);
    await failed;
    const retried = h.nextStep();
    await retried;
    expect(h.steps).toEqual([3]);
    h.s.stop();
    h.add(3);
    await h.s.flush();
    expect(h.s.stepping).toBe(false);
    expect(h.steps).toEqual([3]);
  });
});

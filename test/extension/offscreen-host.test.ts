import { afterEach, describe, expect, it } from 'vitest';
import { createOffscreenHost } from '../../extension/background/offscreen-host';

/** A fake `chrome` with the offscreen and runtime.getContexts APIs; creation takes a while. */
function fakeChrome() {
  const state = { docs: 0, creates: 0 };
  (globalThis as Record<string, unknown>).chrome = {
    runtime: {
      getURL: (p: string) => `chrome-extension://id/${p}`,
      ContextType: { OFFSCREEN_DOCUMENT: 'OFFSCREEN_DOCUMENT' },
      getContexts: async () => Array.from({ length: state.docs }, () => ({})),
      sendMessage: async () => ({ ok: true }),
    },
    offscreen: {
      Reason: { WORKERS: 'WORKERS' },
      createDocument: async () => {
        state.creates++;
        await new Promise((r) => setTimeout(r, 20));
        if (state.docs > 0) throw new Error('Only a single offscreen document may be created.');
        state.docs++;
      },
      closeDocument: async () => void (state.docs = 0),
    },
  };
  return state;
}

describe('offscreen host guard', () => {
  afterEach(() => delete (globalThis as Record<string, unknown>).chrome);

  it('creates one document for many concurrent callers', async () => {
    const state = fakeChrome();
    const host = createOffscreenHost();
    await Promise.all(Array.from({ length: 5 }, () => host.ensure()));
    expect(state).toEqual({ docs: 1, creates: 1 });
    await host.ensure();
    expect(state.creates).toBe(1);
  });

  it('finds the document a previous service-worker lifetime created', async () => {
    const state = fakeChrome();
    await createOffscreenHost().ensure();
    const restarted = createOffscreenHost(); // fresh module state, as after a restart
    await Promise.all([restarted.ensure(), restarted.ensure()]);
    expect(state).toEqual({ docs: 1, creates: 1 });
    expect(await restarted.isRunning()).toBe(true);
    await restarted.close();
    expect(await restarted.isRunning()).toBe(false);
    expect(await restarted.send({ to: 'offscreen', type: 'offscreen:wake' })).toBeUndefined();
  });

  it('tolerates losing a creation race to another lifetime', async () => {
    const state = fakeChrome();
    const a = createOffscreenHost();
    const b = createOffscreenHost();
    await Promise.all([a.ensure(), b.ensure()]); // both see "no document" and both create
    expect(state.docs).toBe(1);
  });
});

/**
 * The coordinator and federation hooks the admin dashboard drives: pausing aggregation keeps
 * accepting (and durably buffering) deltas without folding them until resumed; a revoked
 * contributor token is disconnected at once and refused at every later handshake.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederationError } from '../../../shared/protocol/client';
import { tokenFingerprint } from '../../../server/socket/federation';
import { connectClient, onlineOnly, randomDelta, startTiny } from '../helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;

describe('admin hooks', () => {
  let srv: Srv | null = null;
  afterEach(async () => {
    await srv?.cleanup();
    srv = null;
  });

  it('pause stops server steps but keeps accepting; resume folds the waiting buffer', async () => {
    srv = await startTiny({ aggregation: { bufferSize: 2 } });
    const coord = srv.coordinator;
    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    expect(coord.pause()).toBe(true);
    expect(coord.pause()).toBe(false);
    expect(coord.pausedAt).toBeTypeOf('number');
    for (let i = 0; i < 3; i++) expect(await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, i) })).toMatchObject({ ok: true, status: 'accepted' });
    // A fold would have started when the last ack was sent: once no step runs, none did.
    await coord.settled();
    expect(coord.version).toBe(0);
    expect(coord.bufferFill).toBe(3);
    const v1 = c.waitForVersion(0, 10_000);
    expect(coord.resume()).toBe(true);
    expect(coord.resume()).toBe(false);
    expect(coord.pausedAt).toBeNull();
    await v1;
    expect(coord.version).toBe(1);
    expect(coord.bufferFill).toBe(0);
    c.close();
  });

  it('an explicit flush still folds while paused', async () => {
    srv = await startTiny({ aggregation: { bufferSize: 4 } });
    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    srv.coordinator.pause();
    await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
    expect(await srv.coordinator.flush()).toBe(1);
    c.close();
  });

  it('a revoked token is disconnected and refused from then on; other tokens keep working', async () => {
    srv = await startTiny({ contributorTokens: ['token-aaaaaaaa', 'token-bbbbbbbb'] });
    const a = await connectClient(srv.url, { token: 'token-aaaaaaaa', reconnection: false });
    const b = await connectClient(srv.url, { token: 'token-bbbbbbbb', reconnection: false });
    const dropped = new Promise<string>((r) => a.on('disconnect', r));
    const r = srv.federation.revokeToken('token-aaaaaaaa');
    expect(r).toEqual({ fingerprint: tokenFingerprint('token-aaaaaaaa'), disconnected: 1 });
    expect(await dropped).toBe('io server disconnect');
    const again = connectClient(srv.url, { token: 'token-aaaaaaaa', reconnection: false });
    await expect(again).rejects.toBeInstanceOf(FederationError);
    await expect(again).rejects.toThrow(/revoked/);
    expect((await b.pullWeights('latest')).version).toBe(0);
    a.close();
    b.close();
  });
});

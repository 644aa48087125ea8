/**
 * The dashboard's server side without a browser: the `/admin` Socket.IO namespace refuses a
 * wrong or missing admin token, sends a snapshot then live ticks, runs actions (validated, logged
 * in admin_actions); the admin HTTP routes need the bearer token; revocations survive a restart;
 * the page and its assets carry no run data.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActionResult, AdminClientEvents, AdminServerEvents, Snapshot, Tick } from '../../../server/dashboard/protocol';
import { recentAdminActions } from '../../../server/dashboard/store';
import { FederationError } from '../../../shared/protocol/client';
import { connectClient, onlineOnly, randomDelta, startTiny, tempDir, TINY_METHOD_CONFIG } from '../helpers';
import { startServer } from '../../../server/server';

type Srv = Awaited<ReturnType<typeof startTiny>>;
type AdminSocket = Socket<AdminServerEvents, AdminClientEvents>;

const ADMIN = 'admin-token-for-namespace-tests';

function admin(url: string, token?: string): AdminSocket {
  return connect(`${url}/admin`, { auth: token === undefined ? {} : { token }, transports: ['websocket'], reconnection: false, forceNew: true });
}

const refusal = (s: AdminSocket) => new Promise<string>((resolve, reject) => {
  s.on('connect_error', (e) => resolve(e.message));
  s.on('dash:snapshot', () => reject(new Error('got a snapshot')));
});

describe('dashboard namespace and admin routes', () => {
  const servers: Srv[] = [];
  const sockets: AdminSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const s of servers.splice(0)) await s.cleanup();
  });

  it('refuses a wrong or missing admin token', async () => {
    const srv = await startTiny({ adminToken: ADMIN });
    servers.push(srv);
    for (const token of ['wrong-token-0000000000000000000', undefined]) {
      const s = admin(srv.url, token);
      sockets.push(s);
      expect(await refusal(s)).toBe('unauthorized: wrong admin token');
    }
  });

  it('sends a snapshot, then ticks with new versions, histograms and contributors; actions are logged', async () => {
    const srv = await startTiny({ adminToken: ADMIN, aggregation: { bufferSize: 2 } });
    servers.push(srv);
    const s = admin(srv.url, ADMIN);
    sockets.push(s);
    const snap = await new Promise<Snapshot>((r) => s.once('dash:snapshot', r));
    expect(snap.run.method).toBe('byol');
    expect(snap.state).toMatchObject({ version: 0, bufferFill: 0, bufferSize: 2, pausedAt: null, tokensRequired: false });
    expect(snap.versions).toEqual([]);
    expect(snap.contributors).toEqual([]);

    const ticks: Tick[] = [];
    s.on('dash:tick', (t) => ticks.push(t));
    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const v1 = c.waitForVersion(0, 10_000);
    for (let i = 0; i < 2; i++) await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, i) });
    await v1;
    await c.submitDelta({ baseVersion: 1, examples: 0, delta: randomDelta(on, 3) });
    await c.pullWeights('latest');
    await expect.poll(() => ticks.flatMap((t) => t.versions).length, { timeout: 5000 }).toBe(1);
    await expect.poll(() => ticks.flatMap((t) => t.rejections).length, { timeout: 5000 }).toBe(1);
    await expect.poll(() => ticks.findLast((t) => t.contributors)?.contributors, { timeout: 5000 })
      .toEqual([expect.objectContaining({ clientKind: 'node', backend: 'cpu', trainingOn: 1, accepted: 2, rejected: 1, token: null })]);
    const all = ticks.flatMap((t) => t.versions);
    expect(all[0]).toMatchObject({ version: 1, numUpdates: 2, meanStaleness: 0 });
    expect(ticks.flatMap((t) => t.staleness)).toEqual([[0, 2]]);
    expect(ticks.flatMap((t) => t.norms).reduce((n, [, k]) => n + k, 0)).toBe(2);
    expect(ticks.flatMap((t) => t.rejections)[0]).toMatchObject({ code: 'bad_examples' });
    expect(ticks.at(-1)!.state.totals).toMatchObject({ accepted: 2, applied: 2, rejected: 1, versions: 1 });
    c.close();

    const act = (req: unknown) => s.timeout(10_000).emitWithAck('admin:action', req as never) as Promise<ActionResult>;
    expect(await act({ action: 'pause' })).toEqual({ ok: true, message: 'aggregation paused at version 1' });
    expect(await act({ action: 'pause' })).toEqual({ ok: false, message: 'aggregation is already paused' });
    expect((await act({ action: 'checkpoint' })).message).toBe('checkpoint of version 1 written');
    expect((await act({ action: 'revoke', token: 'some-token-1234' })).message).toMatch(/open .*nothing to revoke/);
    expect((await act({ action: 'explode' })).ok).toBe(false);
    expect((await act({ action: 'revoke', token: 'a', socketId: 'b' })).message).toMatch(/exactly one/);
    expect(await act({ action: 'resume' })).toMatchObject({ ok: true });
    const logged = recentAdminActions(srv.coordinator.db);
    expect(logged.map((a) => [a.action, a.ok])).toEqual([['resume', true], ['revoke', false], ['checkpoint', true], ['pause', false], ['pause', true]]);
    expect(logged[0].actor).toMatch(/^dashboard /);
    await expect.poll(() => ticks.flatMap((t) => t.actions).length, { timeout: 5000 }).toBe(5);
  });

  it('a server without the dashboard still serves checkpoint and flush to the admin', async () => {
    const t = tempDir();
    const srv = await startServer({ port: 0, host: '127.0.0.1', dataDir: t.dir, methodConfig: TINY_METHOD_CONFIG, log: false, dashboard: false, adminToken: ADMIN });
    try {
      expect((await fetch(`${srv.url}/api/admin/flush`, { method: 'POST' })).status).toBe(401);
      const cp = await fetch(`${srv.url}/api/admin/checkpoint`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } });
      expect(await cp.json()).toMatchObject({ ok: true, version: 0 });
      const fl = await fetch(`${srv.url}/api/admin/flush`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } });
      expect(await fl.json()).toMatchObject({ ok: true, version: 0 });
      expect((await fetch(`${srv.url}/api/admin/pause`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
    } finally {
      await srv.close();
      t.cleanup();
    }
  });

  it('admin HTTP routes need the bearer token; a revocation survives a restart', async () => {
    const t = tempDir();
    const cfg = { dataDir: t.dir, adminToken: ADMIN, contributorTokens: ['token-aaaaaaaa', 'token-bbbbbbbb'] };
    const srv = await startTiny(cfg);
    const auth = { Authorization: `Bearer ${ADMIN}` };
    try {
      expect((await fetch(`${srv.url}/api/admin/pause`, { method: 'POST' })).status).toBe(401);
      expect((await fetch(`${srv.url}/api/admin/dashboard`)).status).toBe(401);
      expect((await fetch(`${srv.url}/api/admin/pause`, { method: 'POST', headers: auth })).status).toBe(200);
      expect((await fetch(`${srv.url}/api/admin/pause`, { method: 'POST', headers: auth })).status).toBe(409);
      expect((await fetch(`${srv.url}/api/admin/resume`, { method: 'POST', headers: auth })).status).toBe(200);
      expect((await fetch(`${srv.url}/api/admin/checkpoint`, { method: 'POST' })).status).toBe(401);
      const cp = await fetch(`${srv.url}/api/admin/checkpoint`, { method: 'POST', headers: auth });
      expect(await cp.json()).toEqual({ ok: true, message: 'checkpoint of version 0 written', version: 0 });
      const fl = await fetch(`${srv.url}/api/admin/flush`, { method: 'POST', headers: auth });
      expect(await fl.json()).toEqual({ ok: true, message: 'nothing to fold (version 0)', version: 0 });
      expect((await fetch(`${srv.url}/api/admin/revoke`, { method: 'POST', headers: auth, body: 'nope' })).status).toBe(400);
      const c = await connectClient(srv.url, { token: 'token-aaaaaaaa', reconnection: false });
      const r = await fetch(`${srv.url}/api/admin/revoke`, { method: 'POST', headers: auth, body: JSON.stringify({ token: 'token-aaaaaaaa' }) });
      expect(await r.json()).toEqual({ ok: true, message: expect.stringMatching(/^token [0-9a-f]{12} revoked; 1 connection\(s\) closed$/) });
      c.close();
      const snap = (await (await fetch(`${srv.url}/api/admin/dashboard`, { headers: auth })).json()) as Snapshot;
      expect(snap.state.revokedTokens).toBe(1);
      expect(snap.actions.map((a) => a.action)).toEqual(['revoke', 'flush', 'checkpoint', 'resume', 'pause', 'pause']);
      expect(snap.actions[0].actor).toMatch(/^api /);
      expect(JSON.stringify(snap)).not.toContain('token-aaaaaaaa');
    } finally {
      await srv.close();
    }
    const again = await startTiny(cfg);
    try {
      await expect(connectClient(again.url, { token: 'token-aaaaaaaa', reconnection: false })).rejects.toThrow(/revoked/);
      await expect(connectClient(again.url, { token: 'token-aaaaaaaa', reconnection: false })).rejects.toBeInstanceOf(FederationError);
      (await connectClient(again.url, { token: 'token-bbbbbbbb', reconnection: false })).close();
    } finally {
      await again.close();
      t.cleanup();
    }
  });

  it('accepts the same-origin dashboard even when an Origin allowlist is set', async () => {
    const srv = await startTiny({ adminToken: ADMIN, allowedOrigins: ['chrome-extension://abcdefgh'] });
    servers.push(srv);
    const origin = (o: string) => connect(`${srv.url}/admin`, { auth: { token: ADMIN }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { Origin: o } });
    const same = origin(srv.url);
    const other = origin('http://evil.example');
    sockets.push(same, other);
    const refused = refusal(other);
    expect((await new Promise<Snapshot>((r) => same.once('dash:snapshot', r))).run.method).toBe('byol');
    expect(await refused).toBe('websocket error');
  });

  it('serves the page and assets without run data', async () => {
    const srv = await startTiny({ adminToken: ADMIN });
    servers.push(srv);
    const page = await fetch(`${srv.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const html = await page.text();
    expect(html).toContain('<script defer src="/admin/app.js">');
    expect(html).not.toContain(srv.coordinator.run.runId);
    expect(html).not.toContain(ADMIN);
    const js = await fetch(`${srv.url}/admin/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(50_000);
    const again = await fetch(`${srv.url}/admin/app.js`, { headers: { 'If-None-Match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(await (await fetch(`${srv.url}/admin/app.css`)).text()).toContain('.uplot');
    const status = (await (await fetch(`${srv.url}/api/status`)).json()) as Record<string, unknown>;
    expect(status.aggregationPaused).toBe(false);
  });
});

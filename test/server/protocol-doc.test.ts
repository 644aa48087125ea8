/**
 * docs/protocol.md against a real server (issue 13, failure 6): the document's marked examples
 * (`<!-- example: name -->` before a json block) are sent as they are written — comments
 * stripped, the one binary placeholder replaced by real GLWT bytes, the version fields set to
 * what this fresh server has — and the statements the issue found untrue are checked one by one.
 */
import { readFileSync } from 'node:fs';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_BOUNDS } from '../../server/core/plan-bounds';
import { EVENT_BUDGETS } from '../../server/socket/payload-budget';
import { Plan, REJECT_CODES } from '../../shared/protocol/messages';
import { encodeWeights } from '../../shared/weights/codec';
import { onlineOnly, randomDelta, startTiny } from './helpers';

const DOC = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

/** The marked json example `name`, parsed: `// …` comments dropped, `<binary GLWT>` as null. */
function example(name: string): Record<string, unknown> {
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/protocol.md has no example '${name}'`);
  const json = m[1].split('\n').map((l) => l.replace(/\s+\/\/ .*$/, '')).join('\n').replace('<binary GLWT>', 'null');
  return JSON.parse(json);
}

/** The rows of the table after `<!-- marker -->`, as arrays of cells. */
function table(marker: string): string[][] {
  const at = DOC.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`docs/protocol.md has no table '${marker}'`);
  const rows: string[][] = [];
  for (const line of DOC.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2);
}

function open(url: string, o: { origin?: string } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...(o.origin ? { extraHeaders: { Origin: o.origin } } : {}) });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => {
      s.close();
      reject(e);
    });
  });
}

type Srv = Awaited<ReturnType<typeof startTiny>>;

describe('docs/protocol.md holds against the server', () => {
  let srv: Srv;
  let s: Socket;
  let delta: Uint8Array;
  beforeAll(async () => {
    // The plan example's round (20 steps of 32 images), so the submit example's `examples` fits.
    srv = await startTiny({ localSteps: 20, batchSize: 32, aggregation: { bufferSize: 1 }, keepCheckpoints: 2, allowedOrigins: ['https://glimpse.example'] });
    s = await open(srv.url);
    delta = encodeWeights(randomDelta(onlineOnly(srv.coordinator.globalState.online), 5, 1e-3));
  });
  afterAll(async () => {
    s.close();
    await srv.cleanup();
  });

  const ask = (sock: Socket, event: string, payload: unknown) => sock.timeout(5000).emitWithAck(event, payload);

  it('the hello example is answered with a plan shaped like the plan example', async () => {
    const hello = example('hello');
    const a = await ask(s, 'session:hello', hello);
    expect(a).toMatchObject({ ok: true, contributorId: hello.clientId, serverTime: expect.any(Number) });
    const documented = example('plan');
    expect(Plan.safeParse(documented).success).toBe(true);
    expect(Object.keys(a.plan).sort()).toEqual(Object.keys(documented).sort());
    // weightDecay is optional: a plan may leave it out, never add an undocumented field.
    expect(Object.keys(documented.optimizer as object)).toEqual(expect.arrayContaining(Object.keys(a.plan.optimizer)));
  });

  it('a second hello keeps the connection\'s identity: same clientId answered, another refused', async () => {
    const hello = example('hello');
    expect(await ask(s, 'session:hello', hello)).toMatchObject({ ok: true, contributorId: hello.clientId });
    expect(await ask(s, 'session:hello', { ...hello, clientId: 'someone-else' })).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/reconnect/) });
  });

  it('backend is required; capabilities take at most 32 keys', async () => {
    const { backend: _, ...noBackend } = example('hello');
    expect(await ask(s, 'session:hello', noBackend)).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/backend/) });
    const caps = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'.repeat(256)]));
    expect(await ask(s, 'session:hello', { ...example('hello'), capabilities: caps })).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/capabilities/) });
  });

  it('the pull example: a version that does not exist yet is unknown_version; "latest" is served', async () => {
    expect(await ask(s, 'weights:pull', example('pull'))).toMatchObject({ ok: false, code: 'unknown_version' });
    expect(await ask(s, 'weights:pull', { version: 'latest' })).toMatchObject({ ok: true, version: srv.coordinator.version });
  });

  it('the submit example is accepted with the accepted example\'s fields, and announced as model:version', async () => {
    const versionEvent = new Promise<Record<string, unknown>>((resolve) => s.once('model:version', resolve));
    const req: Record<string, unknown> = { ...example('submit'), baseVersion: srv.coordinator.version, delta };
    const a = await ask(s, 'delta:submit', req);
    expect(a).toMatchObject({ ok: true, status: 'accepted', updateId: req.updateId, clipped: false });
    expect(Object.keys(a).sort()).toEqual(Object.keys(example('accepted')).sort());
    const row = DOC.split('\n').find((l) => l.startsWith('| `model:version` |'))!;
    const documented = JSON.parse(/`(\{.*?\})`/.exec(row)![1]);
    expect(Object.keys(await versionEvent).sort()).toEqual(Object.keys(documented).sort());
  });

  it('metrics are optional; a non-integer examples is bad_request, an integer out of range bad_examples', async () => {
    const base = (): Record<string, unknown> => ({ ...example('submit'), baseVersion: srv.coordinator.version, delta });
    const { metrics: _, ...noMetrics }: Record<string, unknown> = { ...base(), updateId: 'doc-no-metrics' };
    expect(await ask(s, 'delta:submit', noMetrics)).toMatchObject({ ok: true, status: 'accepted' });
    expect(await ask(s, 'delta:submit', { ...base(), updateId: 'doc-fraction', examples: 1.5 })).toMatchObject({ ok: false, code: 'bad_request', reason: expect.stringMatching(/examples/) });
    expect(await ask(s, 'delta:submit', { ...base(), updateId: 'doc-zero', examples: 0 })).toMatchObject({ ok: false, code: 'bad_examples' });
  });

  it('update ids are unique across contributors: another contributor reusing one gets duplicate', async () => {
    const other = await open(srv.url);
    try {
      expect(await ask(other, 'session:hello', { ...example('hello'), clientId: 'another-contributor' })).toMatchObject({ ok: true });
      const a = await ask(other, 'delta:submit', { ...example('submit'), baseVersion: srv.coordinator.version, delta });
      expect(a).toMatchObject({ ok: true, status: 'duplicate' });
    } finally {
      other.close();
    }
  });

  it('versions older than the kept checkpoints are version_unavailable; the kept ones are pullable', async () => {
    // keepCheckpoints 2: after three more versions, version − 1 and version are kept.
    for (let i = 0; i < 3; i++) {
      const before = srv.coordinator.version;
      expect(await ask(s, 'delta:submit', { ...example('submit'), updateId: `doc-keep-${i}`, baseVersion: before, delta })).toMatchObject({ ok: true, status: 'accepted' });
      // bufferSize 1: each accepted update becomes a version, folded after the ack.
      for (let n = 0; srv.coordinator.version <= before && n < 500; n++) await new Promise((r) => setTimeout(r, 10));
    }
    const v = srv.coordinator.version;
    expect(v).toBeGreaterThanOrEqual(4);
    expect(await ask(s, 'weights:pull', { version: v - 1 })).toMatchObject({ ok: true, version: v - 1 });
    expect(await ask(s, 'weights:pull', { version: 1 })).toMatchObject({ ok: false, code: 'version_unavailable' });
  });

  it('an Origin allowlist refuses other Origins and lets a handshake without Origin through', async () => {
    await expect(open(srv.url, { origin: 'https://elsewhere.example' })).rejects.toThrow();
    (await open(srv.url, { origin: 'https://glimpse.example' })).close();
    (await open(srv.url)).close();
  });

  it('every reject code is in the table, and the table has no others', () => {
    const lines = DOC.slice(DOC.indexOf('| code | meaning | what to do |')).split('\n').slice(2);
    const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|'))).map((l) => /^\| `([a-z_]+)`/.exec(l)![1]);
    expect(new Set(rows)).toEqual(new Set(REJECT_CODES));
  });

  it('the documented budgets and plan ranges are the server\'s', () => {
    const budgets = Object.fromEntries(table('budgets').map(([ev, ...n]) => [ev.replace(/`/g, ''), n.map(Number)]));
    const served = Object.fromEntries(Object.entries(EVENT_BUDGETS['/']).map(([ev, b]) => [ev, [b.maxChars, b.maxKeys, b.maxValues, b.maxDepth, b.maxString, b.maxAttachments]]));
    expect(budgets).toEqual(served);
    const ranges = Object.fromEntries(table('plan-bounds').map(([f, r]) => [f.replace(/`/g, ''), r]));
    const B = PLAN_BOUNDS;
    expect(ranges.localSteps).toBe(`integer ${B.localSteps.min} … ${B.localSteps.max}`);
    expect(ranges.batchSize).toBe(`integer ${B.batchSize.min} … ${B.batchSize.max}`);
    expect(ranges['optimizer.learningRate']).toBe(`${B.learningRate.min} … ${B.learningRate.max}`);
    expect(ranges['optimizer.weightDecay']).toBe(`${B.weightDecay.min} … ${B.weightDecay.max} (optional)`);
  });
});

/**
 * Structured logs: createLogger's JSON and pretty formats, the server's plain lines mapped onto
 * levels, and startServer({ log: logger }) adding structured records for server events.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, isLogger, lineLogger } from '../../../server/logging/logger';
import { connectClient, onlineOnly, randomDelta, startTiny } from '../helpers';

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(chunk.toString()); cb(); } });
  return { stream, text: () => chunks.join(''), records: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logging', () => {
  it('writes JSON lines with ISO time and level labels; plain server lines map onto levels', () => {
    const out = sink();
    const logger = createLogger({ destination: { write: (s: string) => out.stream.write(s) } });
    expect(isLogger(logger)).toBe(true);
    expect(isLogger(() => {})).toBe(false);
    const line = lineLogger(logger);
    line('version 3: 2 update(s) from 2 contributor(s)');
    line('checkpoint prune failed: EACCES');
    logger.debug('hidden at info');
    const [a, b, ...rest] = out.records();
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ level: 'info', name: 'glimpse-server', msg: 'version 3: 2 update(s) from 2 contributor(s)' });
    expect(new Date(a.time as string).toISOString()).toBe(a.time);
    expect(b).toMatchObject({ level: 'warn', msg: 'checkpoint prune failed: EACCES' });
  });

  it('has a readable pretty format', () => {
    const out = sink();
    const logger = createLogger({ format: 'pretty', colorize: false, destination: out.stream as never });
    logger.info({ version: 4 }, 'hello there');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello there\n\s+version: 4/);
    expect(() => JSON.parse(text)).toThrow();
  });

  it('startServer takes a pino logger: lines plus structured event records', async () => {
    const out = sink();
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => out.stream.write(s) } });
    const srv = await startTiny({ log: logger as never, aggregation: { bufferSize: 1 } });
    try {
      const c = await connectClient(srv.url);
      const on = onlineOnly((await c.pullWeights(0)).weights);
      const v1 = c.waitForVersion(0, 10_000);
      await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
      await v1;
      await c.submitDelta({ baseVersion: 0, examples: 0, delta: randomDelta(on, 2) });
      c.close();
      await expect.poll(() => out.records().some((r) => r.event === 'client:disconnected')).toBe(true);
    } finally {
      await srv.cleanup();
    }
    const recs = out.records();
    expect(recs.find((r) => /^started run /.test(r.msg as string))).toMatchObject({ level: 'info' });
    expect(recs.find((r) => r.event === 'client:connected')).toMatchObject({ level: 'info', component: 'events', clientKind: 'node', backend: 'cpu' });
    expect(recs.find((r) => r.event === 'version:created')).toMatchObject({ level: 'debug', version: 1, updates: 1 });
    expect(recs.find((r) => r.event === 'update:rejected')).toMatchObject({ level: 'warn', code: 'bad_examples' });
    expect(recs.find((r) => r.event === 'update:accepted')).toMatchObject({ level: 'debug', examples: 4 });
  });
});

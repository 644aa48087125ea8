import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../server/cli';

describe('glimpse-server CLI', () => {
  it('maps flags and environment to a config', () => {
    const c = parseCli(['--port', '0', '--buffer-size', '4', '--server-opt', 'fedadam', '--ema', '0.995', '--ema-ramp', '1000', '--tokens', 'aaaaaaaa,bbbbbbbb'], { GLIMPSE_DATA_DIR: '/tmp/x' });
    expect(c).toMatchObject({
      port: 0, dataDir: '/tmp/x', contributorTokens: ['aaaaaaaa', 'bbbbbbbb'],
      aggregation: { bufferSize: 4, serverOptimizer: { kind: 'fedadam', lr: 0.01 }, ema: { base: 0.995, kind: 'cosine', rampSteps: 1000 } },
    });
    expect(parseCli(['--help'], {})).toBe('help');
    expect(parseCli(['--rate-limit', '30', '--rate-burst', '3'], {})).toMatchObject({ rateLimit: { perMinute: 30, burst: 3 } });
    expect(parseCli(['--rate-limit', '0.5'], {})).toMatchObject({ rateLimit: { perMinute: 0.5 } });
    expect(parseCli([], {})).not.toHaveProperty('rateLimit');
    // Several nodes on Redis (docs/deploy.md); without --redis none of it is set.
    expect(parseCli(['--redis', 'redis://10.0.0.5:6379', '--role', 'ingest', '--lease-ms', '2000', '--node-id', 'n1'], {}))
      .toMatchObject({ redis: 'redis://10.0.0.5:6379', role: 'ingest', leaseMs: 2000, nodeId: 'n1' });
    expect(parseCli([], { GLIMPSE_REDIS_URL: 'redis://r:6379' })).toMatchObject({ redis: 'redis://r:6379' });
    expect(parseCli([], {})).not.toHaveProperty('redis');
    expect(parseCli(['--hello-timeout', '3000', '--max-connections-per-address', '8'], {})).toMatchObject({ helloTimeoutMs: 3000, maxConnectionsPerAddress: 8 });
    expect(parseCli(['--max-connections-per-address', '0', '--max-message-bytes', '3000000'], {})).toMatchObject({ maxConnectionsPerAddress: false, maxMessageBytes: 3_000_000 });
    expect(parseCli([], {})).not.toHaveProperty('maxConnectionsPerAddress');
  });

  it('rejects bad flags with one-line messages', () => {
    expect(() => parseCli(['--port', 'abc'], {})).toThrow("--port expects an integer, got 'abc'");
    expect(() => parseCli(['--server-opt', 'sgd'], {})).toThrow(/fedavg, fedavgm or fedadam/);
    expect(() => parseCli(['--method-config', '{nope'], {})).toThrow(/must be JSON/);
    expect(() => parseCli(['--bogus'], {})).toThrow(/Unknown option '--bogus'/);
    expect(() => parseCli(['--rate-burst', '2'], {})).toThrow('--rate-burst needs --rate-limit');
    expect(() => parseCli(['--rate-limit', 'lots'], {})).toThrow("--rate-limit expects a number, got 'lots'");
    expect(() => parseCli(['--role', 'ingest'], {})).toThrow('--role, --lease-ms and --node-id need --redis');
    expect(() => parseCli(['--redis', 'redis://r', '--role', 'leader'], {})).toThrow("--role must be ingest, aggregator or both, got 'leader'");
    expect(() => parseCli(['--redis', 'r:6379'], {})).toThrow("--redis expects a redis:// or rediss:// URL, got 'r:6379'");
  });

  it('exits with status 2 and one line on stderr for a bad flag', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--buffer-size', 'lots'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--buffer-size expects an integer/);
  });

  it('exits with status 1 and one line for an unknown method', () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--method', 'nope', '--port', '0', '--data-dir', dir], { encoding: 'utf8', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^glimpse-server: cannot build method 'nope': unknown SSL method 'nope' \(known: .*byol/m);
  });

  it('exits with status 1 and one line when --redis cannot be reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--redis', `redis://127.0.0.1:${port}`, '--port', '0', '--data-dir', dir], { encoding: 'utf8', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`glimpse-server: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`]);
  });
});

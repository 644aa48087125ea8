/**
 * glimpse-server: the aggregation server from the command line. Flags override environment
 * variables, which override defaults. Errors are one line; SIGINT/SIGTERM stop gracefully
 * (final checkpoint), a second signal exits at once.
 */
import { parseUploadSpec } from '../shared/protocol/compression';
import { parseArgs } from 'node:util';
import type { ServerConfig } from './config';
import { ConfigError } from './errors';
import type { ServerOptimizerConfig } from './aggregation/server-optimizer';
import { GUARD_FLAGS, GUARD_USAGE, guardOptions } from './cli-guard';
import type { LogFormat } from './logging/logger';

/** What the command line maps to: the server config plus how to log. */
export interface CliConfig extends ServerConfig {
  /** Absent: pretty on a terminal, JSON otherwise. */
  logFormat?: LogFormat;
  /** kNN evaluation data: 'fixture', a Fashion-MNIST directory, 'default', or absent for none. */
  evalData?: string;
  evalEvery?: number;
  logLevel?: string;
  /** Run as one node of several sharing this Redis (cluster/node-server.ts); absent: the single-process server. */
  redis?: string;
  role?: 'ingest' | 'aggregator' | 'both';
  leaseMs?: number;
  nodeId?: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

const HELP = `glimpse-server — federated SSL aggregation server

Usage: glimpse-server [options]

  --port <n>                TCP port (0 = any free)                 [GLIMPSE_PORT, 8787]
  --host <addr>             listen address (0.0.0.0 for the LAN)    [GLIMPSE_HOST, 127.0.0.1]
  --data-dir <path>         checkpoints, SQLite history, admin token [GLIMPSE_DATA_DIR, ./.glimpse]
  --method <name>           SSL method of a new run (byol, simclr, … see shared/ssl/registry.ts)  [GLIMPSE_METHOD, simclr]
  --method-config <json>    createMethod overrides, e.g. '{"encoder":{"widths":[8,8,8]}}'  [GLIMPSE_METHOD_CONFIG]
  --seed <n>                initial weights of a new run from this seed (reproducible)  [random]
  --local-steps <n>         client steps per round                  [20]
  --batch-size <n>          client batch size                       [32]
  --client-lr <x>           client Adam learning rate               [1e-3]
  --buffer-size <K>         deltas per server step (FedBuff K)      [GLIMPSE_BUFFER_SIZE, 10]
  --staleness-exponent <a>  s(τ) = (1+τ)^-a                         [0.5]
  --max-staleness <n>       reject deltas older than n versions     [20]
  --server-opt <kind>       fedavg | fedavgm | fedadam              [fedavg]
  --server-lr <x>           server learning rate                    [1 (fedavg/fedavgm), 0.01 (fedadam)]
  --server-momentum <x>     FedAvgM β                               [0.9]
  --ema <m>                 target EMA momentum per server step     [0.99]
  --ema-ramp <steps>        cosine ramp of the EMA to 1 (BYOL)      [off]
  --max-norm <x>            hard bound on a delta's L2 norm         [1e4]
  --norm-multiple <x>       clip/reject above x × recent median     [10]
  --norm-mode <mode>        clip | reject                           [clip]
${GUARD_USAGE}  --flush-after <ms>        fold a partial buffer after this long   [0 = never]
  --keep-checkpoints <n>    checkpoints kept on disk                [5]
  --tokens <a,b,…>          contributor tokens (none = open server) [GLIMPSE_CONTRIBUTOR_TOKENS]
  --admin-token <t>         admin bearer token                      [GLIMPSE_ADMIN_TOKEN, generated]
  --origins <a,b,…>         allowed Socket.IO Origins               [any]
  --rate-limit <n>          submissions per minute per contributor (token, else address)  [off]
  --rate-burst <n>          submissions back to back before the limit applies  [⌈n/6⌉]
  --max-message-bytes <n>   largest Socket.IO message, attachments included  [from the model: delta × 1.25 + 64 KiB]
  --hello-timeout <ms>      close connections that have not said hello by then  [10000]
  --max-connections-per-address <n>  open connections per address (0 = no cap)  [32 on an open server, no cap with --tokens]
  --log-format <f>          json (one object per line) | pretty     [GLIMPSE_LOG_FORMAT, pretty on a terminal, else json]
  --log-level <l>           trace | debug | info | warn | error      [GLIMPSE_LOG_LEVEL, info]
  --eval <data>             kNN-evaluate the encoder on Fashion-MNIST: default | fixture | <dir>  [off]
  --eval-every <n>          evaluate every n-th version             [5]
  --upload <spec>           what contributors upload: fp32 | fp16 | int8[:block=n] [:topk=f] [:noef]  [int8:topk=0.1]
  --redis <url>             run as one of several nodes sharing this Redis (docs/deploy.md)  [GLIMPSE_REDIS_URL, off]
  --role <r>                with --redis: ingest | aggregator | both (aggregators compete for the lease)  [both]
  --lease-ms <n>            with --redis: aggregator lease time to live  [5000]
  --node-id <name>          with --redis: this node's name in the lease and logs  [random]
  --quiet                   no log lines
  -h, --help
`;

class UsageError extends Error {}

function num(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} expects ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, method: { type: 'string' },
        'method-config': { type: 'string' }, 'local-steps': { type: 'string' }, 'batch-size': { type: 'string' }, 'client-lr': { type: 'string' },
        'buffer-size': { type: 'string' }, 'staleness-exponent': { type: 'string' }, 'max-staleness': { type: 'string' },
        'server-opt': { type: 'string' }, 'server-lr': { type: 'string' }, 'server-momentum': { type: 'string' },
        ema: { type: 'string' }, 'ema-ramp': { type: 'string' }, 'max-norm': { type: 'string' }, 'norm-multiple': { type: 'string' },
        'norm-mode': { type: 'string' }, 'flush-after': { type: 'string' }, 'keep-checkpoints': { type: 'string' },
        tokens: { type: 'string' }, 'admin-token': { type: 'string' }, origins: { type: 'string' }, quiet: { type: 'boolean' },
        'rate-limit': { type: 'string' }, 'rate-burst': { type: 'string' }, seed: { type: 'string' },
        'hello-timeout': { type: 'string' }, 'max-message-bytes': { type: 'string' }, 'max-connections-per-address': { type: 'string' },
        'log-format': { type: 'string' }, 'log-level': { type: 'string' }, eval: { type: 'string' }, 'eval-every': { type: 'string' },
        upload: { type: 'string' }, redis: { type: 'string' }, role: { type: 'string' }, 'lease-ms': { type: 'string' }, 'node-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(GUARD_FLAGS.map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const method = v.method ?? env.GLIMPSE_METHOD;
  let methodConfig: Record<string, unknown> | undefined;
  const mc = v['method-config'] ?? env.GLIMPSE_METHOD_CONFIG;
  if (mc !== undefined) {
    try {
      methodConfig = JSON.parse(mc);
    } catch {
      throw new UsageError(`--method-config must be JSON, got '${mc}'`);
    }
    if (typeof methodConfig !== 'object' || methodConfig === null || Array.isArray(methodConfig)) throw new UsageError('--method-config must be a JSON object');
  }
  const kind = v['server-opt'] ?? 'fedavg';
  const lr = num('server-lr', v['server-lr']);
  let serverOptimizer: ServerOptimizerConfig;
  if (kind === 'fedavg') serverOptimizer = { kind, lr: lr ?? 1 };
  else if (kind === 'fedavgm') serverOptimizer = { kind, lr: lr ?? 1, momentum: num('server-momentum', v['server-momentum']) ?? 0.9 };
  else if (kind === 'fedadam') serverOptimizer = { kind, lr: lr ?? 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-3 };
  else throw new UsageError(`--server-opt must be fedavg, fedavgm or fedadam, got '${kind}'`);
  const normMode = v['norm-mode'];
  if (normMode !== undefined && normMode !== 'clip' && normMode !== 'reject') throw new UsageError(`--norm-mode must be clip or reject, got '${normMode}'`);
  const ramp = num('ema-ramp', v['ema-ramp'], true);
  const clientLr = num('client-lr', v['client-lr']);
  const normGuard: Record<string, unknown> = {};
  if (v['max-norm'] !== undefined) normGuard.maxNorm = num('max-norm', v['max-norm']);
  if (v['norm-multiple'] !== undefined) normGuard.medianMultiple = num('norm-multiple', v['norm-multiple']);
  if (normMode) normGuard.mode = normMode;
  let guard: ReturnType<typeof guardOptions>;
  try {
    guard = guardOptions(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (guard.floor !== undefined) normGuard.floor = guard.floor;
  const logFormat = v['log-format'] ?? env.GLIMPSE_LOG_FORMAT;
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') throw new UsageError(`--log-format must be json or pretty, got '${logFormat}'`);
  const logLevel = v['log-level'] ?? env.GLIMPSE_LOG_LEVEL;
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const connectionCap = num('max-connections-per-address', v['max-connections-per-address'], true);
  const perMinute = num('rate-limit', v['rate-limit']);
  const burst = num('rate-burst', v['rate-burst'], true);
  if (burst !== undefined && perMinute === undefined) throw new UsageError('--rate-burst needs --rate-limit');
  const redis = v.redis ?? env.GLIMPSE_REDIS_URL;
  const role = v.role;
  if (role !== undefined && role !== 'ingest' && role !== 'aggregator' && role !== 'both') throw new UsageError(`--role must be ingest, aggregator or both, got '${role}'`);
  if (redis === undefined && (role !== undefined || v['lease-ms'] !== undefined || v['node-id'] !== undefined)) throw new UsageError('--role, --lease-ms and --node-id need --redis');
  if (redis !== undefined && !/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis expects a redis:// or rediss:// URL, got '${redis}'`);
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  return drop({
    port: num('port', v.port ?? env.GLIMPSE_PORT, true),
    host: v.host ?? env.GLIMPSE_HOST,
    dataDir: v['data-dir'] ?? env.GLIMPSE_DATA_DIR,
    method,
    methodConfig,
    seed: num('seed', v.seed, true),
    localSteps: num('local-steps', v['local-steps'], true),
    batchSize: num('batch-size', v['batch-size'], true),
    clientOptimizer: clientLr === undefined ? undefined : { kind: 'adam' as const, learningRate: clientLr },
    aggregation: drop({
      bufferSize: num('buffer-size', v['buffer-size'] ?? env.GLIMPSE_BUFFER_SIZE, true),
      stalenessExponent: num('staleness-exponent', v['staleness-exponent']),
      maxStaleness: num('max-staleness', v['max-staleness'], true),
      serverOptimizer,
      ema: v.ema !== undefined || ramp !== undefined ? { base: num('ema', v.ema) ?? 0.99, kind: ramp ? ('cosine' as const) : ('constant' as const), rampSteps: ramp } : undefined,
      normGuard: Object.keys(normGuard).length ? (normGuard as never) : undefined,
      flushAfterMs: num('flush-after', v['flush-after'], true),
      robust: guard.robust,
      dp: guard.dp,
    }),
    keepCheckpoints: num('keep-checkpoints', v['keep-checkpoints'], true),
    contributorTokens: list(v.tokens ?? env.GLIMPSE_CONTRIBUTOR_TOKENS),
    adminToken: v['admin-token'] ?? undefined,
    allowedOrigins: list(v.origins),
    rateLimit: perMinute === undefined ? undefined : drop({ perMinute, burst }),
    helloTimeoutMs: num('hello-timeout', v['hello-timeout'], true),
    maxMessageBytes: num('max-message-bytes', v['max-message-bytes'], true),
    maxConnectionsPerAddress: connectionCap === 0 ? (false as const) : connectionCap,
    log: v.quiet ? (false as const) : undefined,
    logFormat: logFormat as LogFormat | undefined,
    logLevel,
    evalData: v.eval,
    evalEvery: num('eval-every', v['eval-every'], true),
    upload: v.upload === undefined ? undefined : parseUploadSpec(v.upload),
    redis,
    role: role as CliConfig['role'],
    leaseMs: num('lease-ms', v['lease-ms'], true),
    nodeId: v['node-id'],
  });
}

async function main(): Promise<void> {
  let config: CliConfig | 'help';
  try {
    config = parseCli(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`glimpse-server: ${(e as Error).message} (see --help)`);
    process.exit(2);
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { createLogger } = await import('./logging/logger');
  const { logFormat, logLevel, evalData, evalEvery, redis, role, leaseMs, nodeId, ...serverConfig } = config;
  if (redis !== undefined) {
    const { runClusterNode } = await import('./cluster/node-cli');
    return runClusterNode({ ...serverConfig, redis, role, leaseMs, nodeId }, logFormat, logLevel);
  }
  const { startServer } = await import('./server');
  const evaluator = evalData === undefined ? undefined
    : (await import('./eval/knn-evaluator')).createKnnEvaluator({ data: evalData === 'default' ? undefined : evalData, every: evalEvery ?? 5 });
  const format = logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const logger = serverConfig.log === false ? null : createLogger({ format, level: logLevel });
  let server;
  try {
    server = await startServer({ ...serverConfig, evaluator, log: logger ?? false });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err instanceof ConfigError ? err.message : err.code === 'EADDRINUSE' ? `port ${config.port ?? 8787} is already in use (try --port)` : err.code === 'EACCES' ? `no permission: ${err.message}` : (err.stack ?? String(err));
    console.error(`glimpse-server: ${msg}`);
    process.exit(1);
  }
  const c = server.config;
  // JSON logs get records, a terminal gets lines; the generated admin token never enters the JSON stream.
  const json = format === 'json' && logger !== null;
  const out = (s: string, fields?: Record<string, unknown>) => (json ? logger!.info(fields ?? {}, s.trim()) : process.stdout.write(s + '\n'));
  const run = server.coordinator.run;
  out(`glimpse-server listening on ${server.url}  (run ${run.runId}, ${run.method}, version ${server.coordinator.version})`, {
    url: server.url, runId: run.runId, method: run.method, version: server.coordinator.version, dataDir: c.dataDir, tokensRequired: c.contributorTokens.length > 0,
  });
  if (!json) {
    out(`  federation  ${server.url.replace(/^http/, 'ws')}/socket.io/  (websocket; ${c.contributorTokens.length ? 'token required' : 'open'})`);
    out(`  encoder     ${server.url}/  (download page)   ${server.url}/api/encoder/latest/model.json`);
    out(`  dashboard   ${server.url}/admin   metrics ${server.url}/metrics   status ${server.url}/api/status`);
    out(`  data dir    ${c.dataDir}`);
  }
  if (server.adminTokenGenerated) {
    const line = `  admin token ${server.adminToken}  (generated, stored in ${c.dataDir}/admin-token; shown once)`;
    if (json) process.stderr.write(`glimpse-server:${line}\n`);
    else out(line);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`glimpse-server: ${signal} again, exiting without a final checkpoint`);
      process.exit(130);
    }
    stopping = true;
    out(`glimpse-server: ${signal}, writing a final checkpoint…`);
    server.close().then(
      () => {
        out(`glimpse-server: stopped at version ${server.coordinator.version}`);
        process.exit(0);
      },
      (e) => {
        console.error(`glimpse-server: shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const isMain = process.argv[1] && /(?:^|[\\/])cli\.(?:ts|js|mjs)$/.test(process.argv[1]);
if (isMain || process.env.GLIMPSE_SERVER_BIN === '1') void main();

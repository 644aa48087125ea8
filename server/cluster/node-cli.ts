/**
 * `glimpse-server --redis …`: starts one cluster node (node-server.ts) from the command line,
 * prints where it listens and stops it gracefully on SIGINT/SIGTERM (a second signal exits at
 * once). A stopping aggregator hands its lease back, so a standby takes over without waiting.
 */
import { ConfigError } from '../errors';
import { createLogger, type LogFormat } from '../logging/logger';
import { startClusterNode, type ClusterOptions } from './node-server';

export async function runClusterNode(options: ClusterOptions, logFormat: LogFormat | undefined, logLevel: string | undefined): Promise<void> {
  const format = logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const logger = options.log === false ? null : createLogger({ format, level: logLevel });
  const line = logger ? (s: string) => logger.info(s) : () => {};
  let node;
  try {
    node = await startClusterNode({ ...options, log: options.log === false ? false : line });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err instanceof ConfigError ? err.message : err.code === 'EADDRINUSE' ? `port ${options.port ?? 8787} is already in use (try --port)` : (err.message ?? String(err));
    console.error(`glimpse-server: ${msg}`);
    process.exit(1);
  }
  // Always on stdout, even with --quiet: scripts and tests wait for this line.
  process.stdout.write(`glimpse-server listening on ${node.url}  (cluster node ${node.nodeId}, role ${node.role}, run ${node.node.run.runId}, version ${node.node.version})\n`);
  if (node.adminTokenGenerated) process.stderr.write(`glimpse-server:  admin token ${node.adminToken}  (generated, stored in the data dir; shown once)\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    node.close().then(
      () => process.exit(0),
      (e) => {
        console.error(`glimpse-server: shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
    line(`glimpse-server: ${signal}, stopping`);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * Structured logs with pino: JSON lines for machines (one object per line, ISO time, level
 * label), or a readable coloured line for the terminal (pino-pretty, in-process, no worker).
 *
 *   const logger = createLogger({ format: 'pretty' });
 *   await startServer({ log: logger });          // or: log: lineLogger(logger)
 *
 * The server's own lines are plain strings (`config.log(line)`); lineLogger() maps them onto a
 * logger, and logServerEvents() adds structured records (with fields) for the events a log
 * search wants: connections, rejections, versions, evaluations, checkpoints, admin actions.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { ServerEvents } from '../core/events';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** 'json' (default) or 'pretty'. */
  format?: LogFormat;
  /** Minimum level: trace, debug, info (default), warn, error, fatal, silent. */
  level?: string;
  /** Where lines go; default stdout (written synchronously, so nothing is lost at exit). */
  destination?: DestinationStream;
  /** Colour the pretty format; default: when stdout is a terminal. */
  colorize?: boolean;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const options = { level: o.level ?? 'info', base: { name: 'glimpse-server' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (o.format === 'pretty') {
    const stream = pretty({
      colorize: o.colorize ?? Boolean(process.stdout.isTTY),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      sync: true,
      destination: (o.destination as NodeJS.WritableStream | undefined) ?? 1,
    });
    return pino(options, stream);
  }
  return pino({ ...options, formatters: { level: (label) => ({ level: label }) } }, o.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** True for a pino-like logger (what `startServer({ log })` also accepts besides a function). */
export function isLogger(v: unknown): v is Logger {
  return typeof v === 'object' && v !== null && ['info', 'warn', 'error', 'child'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function');
}

/** Lines that report a failure: logged at warn, everything else at info. */
const FAILURE = /\b(fail(ed|s)?|error|could not|cannot|unreadable|threw|dropping)\b/i;

/** The server's `(line) => void` log sink, writing to a logger. */
export function lineLogger(logger: Logger): (line: string) => void {
  return (line) => (FAILURE.test(line) ? logger.warn(line) : logger.info(line));
}

/** Structured records for server events (fields, not prose), until the signal aborts. */
export function logServerEvents(events: ServerEvents, logger: Logger, signal?: AbortSignal): void {
  const log = logger.child({ component: 'events' });
  events.on('client:connected', (e) => log.info({ event: 'client:connected', ...e }, `contributor ${e.contributorId} connected (${e.clientKind}, ${e.backend})`), signal);
  events.on('client:disconnected', (e) => log.info({ event: 'client:disconnected', ...e }, `contributor ${e.contributorId} disconnected (${e.reason})`), signal);
  events.on('update:rejected', (e) => log.warn({ event: 'update:rejected', ...e }, `update rejected: ${e.code}`), signal);
  events.on('update:accepted', (e) => log.debug({ event: 'update:accepted', ...e }, 'update accepted'), signal);
  events.on('version:created', (s) => log.debug({
    event: 'version:created', version: s.version, updates: s.updates.length, contributors: s.contributors, examples: s.examples,
    meanLoss: s.meanLoss, meanStaleness: s.meanStaleness, maxStaleness: s.maxStaleness, aggregateNorm: s.aggregateNorm, durationMs: s.durationMs,
  }, `version ${s.version}`), signal);
  events.on('eval:recorded', (e) => log.info({ event: 'eval:recorded', ...e }, `evaluated version ${e.version}`), signal);
  events.on('checkpoint:written', (e) => log.debug({ event: 'checkpoint:written', ...e }, `checkpoint ${e.version}`), signal);
  events.on('server:error', (e) => log.error({ event: 'server:error', where: e.where, err: e.error }, `server error in ${e.where}`), signal);
}

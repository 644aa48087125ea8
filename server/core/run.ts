/**
 * A run's identity — method, method config, weight layout, momentum pairs, encoder names — and
 * its starting global state: built fresh from the method (version 0) or taken from the newest
 * checkpoint, which must belong to the same method and method config as this start asks for.
 */
import { randomUUID } from 'node:crypto';
import type { EmaSchedule } from '../../shared/federation/ema';
import type { MomentumPair } from '../../shared/ssl/method';
import { specsOf, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import type { GlobalState } from '../aggregation/fedbuff';
import { initServerOptimizer, slotNames } from '../aggregation/server-optimizer';
import type { ResolvedConfig } from '../config';
import { ConfigError } from '../errors';
import { describeMethod } from '../model/method-info';
import type { Checkpoint } from '../store/checkpoint';

export interface RunInfo {
  runId: string;
  method: string;
  methodConfig: Record<string, unknown>;
  momentumPairs: MomentumPair[];
  encoderNames: string[];
  onlineSpecs: WeightSpec[];
  /** The method's preferred EMA momentum; used unless the operator set one (config.aggregation.emaExplicit). */
  serverMomentum?: number;
}

/** A new run: the method built from the config (seeded when `config.seed` is set). */
export async function freshRun(config: ResolvedConfig): Promise<{ run: RunInfo; state: GlobalState }> {
  // SimCLR by default: of the methods, it is the one measured to beat random init at short budgets (docs/quality.md).
  const method = config.method ?? 'simclr';
  const methodConfig = structuredClone(config.methodConfig ?? {}) as Record<string, unknown>;
  let info;
  try {
    info = await describeMethod(method, methodConfig, config.seed);
  } catch (e) {
    throw new ConfigError(`cannot build method '${method}': ${(e as Error).message}`);
  }
  const pick = (specs: WeightSpec[]): WeightMap => new Map(specs.map((s) => [s.name, info.initial.get(s.name)!]));
  const state: GlobalState = {
    version: 0,
    online: pick(info.onlineSpecs),
    target: pick(info.targetSpecs),
    optimizer: initServerOptimizer(config.aggregation.serverOptimizer, info.onlineSpecs),
  };
  const run: RunInfo = {
    runId: randomUUID(), method, methodConfig, momentumPairs: info.momentumPairs, encoderNames: info.encoderNames,
    onlineSpecs: info.onlineSpecs, serverMomentum: info.serverMomentum,
  };
  return { run, state };
}

/**
 * The run a checkpoint holds. A different method or method config is a ConfigError (a run cannot
 * change mid-way); a different server optimizer starts its state fresh, with a log line.
 */
export function runOfCheckpoint(config: ResolvedConfig, c: Checkpoint): { run: RunInfo; state: GlobalState } {
  const m = c.meta;
  if (config.method && config.method !== m.method) {
    throw new ConfigError(`the data dir ${config.dataDir} holds a '${m.method}' run; start with --method ${m.method} or use another --data-dir`);
  }
  if (config.methodConfig && JSON.stringify(config.methodConfig) !== JSON.stringify(m.methodConfig)) {
    throw new ConfigError(`the data dir ${config.dataDir} holds a run with method config ${JSON.stringify(m.methodConfig)}; it cannot change mid-run`);
  }
  let state = c.state;
  const want = config.aggregation.serverOptimizer;
  const slotsMatch = JSON.stringify(slotNames(want)) === JSON.stringify(Object.keys(state.optimizer.slots).sort()) && m.serverOptimizer.kind === want.kind;
  if (!slotsMatch) {
    config.log(`server optimizer changed from ${m.serverOptimizer.kind} to ${want.kind}: its state starts fresh`);
    state = { ...state, optimizer: initServerOptimizer(want, specsOf(state.online)) };
  }
  const run: RunInfo = {
    runId: m.runId, method: m.method, methodConfig: m.methodConfig, momentumPairs: m.momentumPairs,
    encoderNames: m.encoderNames, onlineSpecs: specsOf(state.online), serverMomentum: m.serverMomentum,
  };
  return { run, state };
}

/** The target EMA: the operator's schedule if they set one, else the method's preferred momentum (MoCo: 0.999). */
export function emaScheduleOf(config: ResolvedConfig, run: RunInfo): EmaSchedule {
  const a = config.aggregation;
  if (a.emaExplicit || run.serverMomentum === undefined) return a.ema;
  return { ...a.ema, base: run.serverMomentum };
}

/** Socket.IO's maxHttpBufferSize: the encoded delta of this model plus headroom, unless configured. */
export function maxMessageBytesOf(config: ResolvedConfig, run: RunInfo): number {
  if (config.maxMessageBytes) return config.maxMessageBytes;
  let floats = 0;
  let header = 64;
  for (const s of run.onlineSpecs) {
    floats += s.shape.reduce((a, b) => a * b, 1);
    header += s.name.length + 96;
  }
  return Math.ceil((floats * 4 + header) * 1.25) + 64 * 1024;
}

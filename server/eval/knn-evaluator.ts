/**
 * The server's periodic evaluation of the global encoder with the glimpse-fmnist-v1 protocol
 * (shared/eval/protocol.ts: weighted kNN, k = 20, cosine, Wu et al. 2018; 1% / 10% linear probes;
 * the embedding-std collapse check), each beside raw pixels and a random-init encoder on the same
 * split — by default a 5k-bank / 1k-query subset, which `split` says — computed in a
 * child process (knn-child.ts) so the aggregation loop never waits on it. Plugs into the server as
 * its `evaluator` (server/core/evaluator.ts): results land in the run history and /api/status.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { encodeWeights } from '../../shared/weights/codec';
import type { EvalContext, Evaluator } from '../core/evaluator';
import type { ProtocolSplit } from '../../shared/eval/protocol';

export interface KnnEvaluatorOptions {
  /** 'fixture', a Fashion-MNIST directory, or undefined for the default location (falls back to the fixture). */
  data?: string;
  /** kNN memory bank size (from the train split). Default 5000. */
  trainCount?: number;
  /** Queries (from the test split). Default 1000. */
  testCount?: number;
  /** Evaluate every n-th version. Default 1. */
  every?: number;
  /** Run the 1% / 10% linear probes too (a few seconds per evaluation). Default true. */
  linear?: boolean;
  /**
   * Lowers the evaluation process's CPU priority by this much (Unix niceness, 0–19; default 0).
   * Where contributors train on the same machine (npm start), an evaluation — an embedding pass over
   * the whole split, seconds of CPU — would otherwise take a core's share from training; at a lower
   * priority it runs in the time training leaves, and the server's scheduler skips to the newest
   * version when it falls behind.
   */
  niceness?: number;
  log?: (line: string) => void;
}

/** What the child reports once its evaluation split is loaded. */
export interface EvalReady {
  /** Raw-pixel kNN accuracy on the same split: the bar an encoder must clear. */
  rawPixel: number;
  source: string;
  trainCount: number;
  testCount: number;
  /** The protocol split the numbers are measured on (bank, queries, subset or not). */
  split: ProtocolSplit;
}

export interface KnnEvaluator extends Evaluator {
  /** Resolves when the child has loaded its data. */
  ready: Promise<EvalReady>;
  /** The evaluation process's id (undefined if it could not be started). */
  readonly pid: number | undefined;
  close(): void;
}

export function createKnnEvaluator(o: KnnEvaluatorOptions = {}): KnnEvaluator {
  const child: ChildProcess = fork(fileURLToPath(new URL('./knn-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    env: {
      ...process.env,
      GLIMPSE_EVAL_DATA: o.data ?? '',
      GLIMPSE_EVAL_TRAIN: String(o.trainCount ?? 5000),
      GLIMPSE_EVAL_TEST: String(o.testCount ?? 1000),
      GLIMPSE_EVAL_LINEAR: o.linear === false ? '0' : '1',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  if (o.niceness && child.pid !== undefined) {
    try {
      os.setPriority(child.pid, Math.min(19, os.getPriority(child.pid) + o.niceness));
    } catch {
      // Not permitted here: evaluations keep the server's priority.
    }
  }
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const pending = new Map<number, { resolve: (m: Record<string, number>) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let readyResolve!: (v: EvalReady) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<EvalReady>((res, rej) => ((readyResolve = res), (readyReject = rej)));
  ready.catch(() => {}); // observed by evaluate(); avoid an unhandled rejection when nobody waits
  let split: ProtocolSplit | undefined;
  void ready.then((r) => (split = r.split), () => {});
  child.on('message', (m: { ready?: boolean; fatal?: string; id?: number; metrics?: Record<string, number>; error?: string } & Record<string, unknown>) => {
    if (m.ready) return readyResolve(m as unknown as EvalReady);
    if (m.fatal) return readyReject(new Error(`evaluator failed to start: ${m.fatal}`));
    const p = pending.get(m.id!);
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.metrics!);
  });
  // Send failures are handled per call (above); the process-level event must not go unhandled.
  child.on('error', () => {});
  child.on('exit', (code) => {
    const err = new Error(`evaluator process exited (${code})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
    readyReject(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  return {
    every: o.every,
    ready,
    pid: child.pid,
    split: () => split as unknown as Record<string, unknown> | undefined,
    async evaluate(ctx: EvalContext) {
      await ready;
      if (!child.connected) throw new Error('the evaluator is closed');
      const id = nextId++;
      return new Promise<Record<string, number>>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // With a callback, a channel closed in the meantime is this call's error, not an uncaught one.
        child.send({ id, method: ctx.method, methodConfig: ctx.methodConfig, weights: encodeWeights(ctx.encoder) }, (err) => {
          if (!err) return;
          pending.delete(id);
          reject(new Error(`the evaluator process is gone: ${err.message}`));
        });
      });
    },
    close() {
      if (child.connected) child.disconnect();
      child.kill();
    },
  };
}

/**
 * Aggregation-side events, for plugins (dashboard, metrics) and tests. A typed wrapper around
 * Node's EventEmitter; listener errors are caught and logged so a plugin cannot break the server.
 */
import { EventEmitter } from 'node:events';
import type { Plan, RejectCode } from '../../shared/protocol/messages';
import type { StepSummary } from '../aggregation/fedbuff';

export interface ServerEventMap {
  /** An update was accepted into the buffer (durably). */
  'update:accepted': { updateId: string; contributorId: string; baseVersion: number; examples: number; norm: number; clipped: boolean; bufferFill: number };
  /** A submission was refused. */
  'update:rejected': { updateId: string | null; contributorId: string | null; code: RejectCode; reason: string };
  /** A server step produced a new version (already durable). */
  'version:created': StepSummary;
  /** The plan changed at runtime (broadcast to contributors as `plan:update`). */
  'plan:changed': Plan;
  'checkpoint:written': { version: number; bytes: number; ms: number; buffered: number };
  'eval:recorded': { version: number; metrics: Record<string, number> };
  'client:connected': { socketId: string; contributorId: string; clientKind: string; backend: string };
  'client:disconnected': { socketId: string; contributorId: string | null; reason: string };
  /** A recoverable internal failure (e.g. a checkpoint write failed and will be retried). */
  'server:error': { where: string; error: Error };
}

export class ServerEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly log: (line: string) => void = () => {}) {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof ServerEventMap>(event: K, listener: (e: ServerEventMap[K]) => void, signal?: AbortSignal): () => void {
    const wrapped = (e: ServerEventMap[K]) => {
      try {
        listener(e);
      } catch (err) {
        this.log(`listener of ${event} threw: ${(err as Error).message}`);
      }
    };
    this.emitter.on(event, wrapped);
    const off = () => this.emitter.off(event, wrapped);
    signal?.addEventListener('abort', off, { once: true });
    return off;
  }

  emit<K extends keyof ServerEventMap>(event: K, e: ServerEventMap[K]): void {
    this.emitter.emit(event, e);
  }
}

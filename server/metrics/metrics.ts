/**
 * Prometheus metrics of the aggregation server (prom-client, on its own Registry — never the
 * global one, so several servers in one process, e.g. tests, do not mix):
 *
 *   glimpse_contributors_connected{client_kind,backend}   gauge    contributors that said hello
 *   glimpse_updates_accepted_total                        counter  deltas durably accepted
 *   glimpse_updates_clipped_total                         counter  accepted after norm clipping
 *   glimpse_updates_rejected_total{reason}                counter  refused submissions by reject code
 *   glimpse_aggregation_duration_seconds                  histogram  one server step's fold
 *   glimpse_aggregation_updates                           histogram  deltas folded per server step
 *   glimpse_update_staleness                              histogram  τ of folded deltas
 *   glimpse_model_version                                 gauge    current global version
 *   glimpse_buffer_fill / glimpse_buffer_size             gauge    FedBuff buffer
 *   glimpse_aggregation_paused                            gauge    1 while an admin paused it
 *   glimpse_network_received_bytes_total / _sent_bytes_total   counter  all TCP traffic
 *   glimpse_eval_accuracy{metric}                         gauge    newest evaluation (e.g. knn)
 *   glimpse_eval_version                                  gauge    version it was measured on
 * plus prom-client's process_* and nodejs_* defaults (CPU, RSS, heap, event-loop lag, GC).
 *
 * Labels never carry contributor ids or tokens: /metrics is as public as /api/status.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECT_CODES } from '../../shared/protocol/messages';
import type { Coordinator } from '../core/coordinator';
import type { ServerEvents } from '../core/events';
import type { Router } from '../http/router';
import { latestEval } from '../store/history';
import type { TrafficCounter } from './traffic';

export interface MetricsSources {
  events: ServerEvents;
  coordinator: Coordinator;
  traffic: TrafficCounter;
  /** Connected contributors (after hello) with their kind and backend. */
  contributors(): Array<{ clientKind: string; backend: string }>;
}

export interface ServerMetrics {
  registry: Registry;
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  /** Detaches the event listeners. */
  close(): void;
}

/** Eval metrics reported as accuracies (fractions in [0, 1]); others (e.g. embeddingStd) are not. */
const isAccuracy = (name: string) => /knn|acc|top1|top5|linear|probe/i.test(name) && !/std/i.test(name);

export function createServerMetrics(src: MetricsSources): ServerMetrics {
  const registry = new Registry();
  const abort = new AbortController();
  const { coordinator: coord, events } = src;
  const signal = abort.signal;
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'glimpse_contributors_connected', help: 'Contributors connected now (after session:hello).', labelNames: ['client_kind', 'backend'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const c of src.contributors()) this.inc({ client_kind: c.clientKind, backend: c.backend });
    },
  });
  const accepted = new Counter({ name: 'glimpse_updates_accepted_total', help: 'Deltas durably accepted into the buffer.', registers: [registry] });
  const clipped = new Counter({ name: 'glimpse_updates_clipped_total', help: 'Accepted deltas whose norm was clipped.', registers: [registry] });
  const rejected = new Counter({ name: 'glimpse_updates_rejected_total', help: 'Refused submissions by reject code.', labelNames: ['reason'] as const, registers: [registry] });
  for (const code of REJECT_CODES) rejected.inc({ reason: code }, 0);
  const duration = new Histogram({
    name: 'glimpse_aggregation_duration_seconds', help: 'Time to compute one server step (fold, optimizer, EMA).', registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const perStep = new Histogram({ name: 'glimpse_aggregation_updates', help: 'Deltas folded per server step.', registers: [registry], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] });
  const staleness = new Histogram({ name: 'glimpse_update_staleness', help: 'Staleness τ (versions) of folded deltas.', registers: [registry], buckets: [0, 1, 2, 3, 5, 8, 13, 21, 34] });
  new Gauge({ name: 'glimpse_model_version', help: 'Current global model version.', registers: [registry], collect() { this.set(coord.version); } });
  new Gauge({ name: 'glimpse_buffer_fill', help: 'Accepted deltas waiting for the next server step.', registers: [registry], collect() { this.set(coord.bufferFill); } });
  new Gauge({ name: 'glimpse_buffer_size', help: 'Deltas per server step (FedBuff K).', registers: [registry], collect() { this.set(coord.config.aggregation.bufferSize); } });
  new Gauge({ name: 'glimpse_aggregation_paused', help: '1 while aggregation is paused by an admin.', registers: [registry], collect() { this.set(coord.pausedAt === null ? 0 : 1); } });
  // Counters fed from running totals: increment by what was added since the last scrape.
  const fromTotal = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name, help, registers: [registry],
      collect() {
        const now = read();
        if (now > last) this.inc(now - last);
        last = Math.max(last, now);
      },
    });
  };
  fromTotal('glimpse_network_received_bytes_total', 'Bytes received on the server\'s TCP sockets (HTTP and WebSocket).', () => src.traffic.totals().bytesIn);
  fromTotal('glimpse_network_sent_bytes_total', 'Bytes sent on the server\'s TCP sockets (HTTP and WebSocket).', () => src.traffic.totals().bytesOut);
  const evalAccuracy = new Gauge({ name: 'glimpse_eval_accuracy', help: 'Newest evaluation accuracy of the product encoder (fraction).', labelNames: ['metric'] as const, registers: [registry] });
  const evalVersion = new Gauge({ name: 'glimpse_eval_version', help: 'Model version of the newest evaluation.', registers: [registry] });
  const setEval = (version: number, metrics: Record<string, number>) => {
    evalVersion.set(version);
    for (const [k, v] of Object.entries(metrics)) if (isAccuracy(k) && Number.isFinite(v)) evalAccuracy.set({ metric: k }, v);
  };
  const last = latestEval(coord.db);
  if (last) setEval(last.version, last.metrics);

  events.on('update:accepted', (e) => {
    accepted.inc();
    if (e.clipped) clipped.inc();
  }, signal);
  events.on('update:rejected', (e) => rejected.inc({ reason: e.code }), signal);
  events.on('version:created', (s) => {
    duration.observe(s.durationMs / 1000);
    perStep.observe(s.updates.length);
    for (const u of s.updates) staleness.observe(u.staleness);
  }, signal);
  events.on('eval:recorded', (e) => setEval(e.version, e.metrics), signal);

  return { registry, render: () => registry.metrics(), close: () => abort.abort() };
}

/** GET /metrics on the router. */
export function registerMetricsRoute(router: Router, metrics: ServerMetrics): void {
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.render();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  });
}

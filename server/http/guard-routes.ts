/**
 * The operator's controls of the run's defences (issue 13), all admin:
 *   GET  /api/admin/norm-stats          the norm guard's per-contributor statistics and reference
 *   POST /api/admin/norm-stats/reset    forget them (a bound dragged anywhere is recoverable; persisted by a checkpoint)
 *   GET  /api/admin/accountability      per-contributor records: cosine to the aggregate, norm ratio,
 *                                       clipped/outvoted counts, a flag with its reason, quarantine
 *   POST /api/admin/quarantine          {contributorId, reason?}: acked and logged, folded with weight 0
 *   POST /api/admin/release             {contributorId}: folded again from the next step
 * and the `robust` and `dp` fields of /api/status (the public page and model card read `dp`).
 */
import type { Coordinator } from '../core/coordinator';
import { accountability, quarantineList } from '../store/accountability';
import { readBody, sendJson, type Router } from './router';

async function contributorOf(req: Parameters<typeof readBody>[0]): Promise<{ contributorId: string; reason: string } | string> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, 4096)) || '{}');
  } catch {
    return 'body must be JSON';
  }
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.contributorId !== 'string' || b.contributorId.length < 1 || b.contributorId.length > 256) return 'contributorId must be a string of 1..256 characters';
  if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 500)) return 'reason must be a string of at most 500 characters';
  return { contributorId: b.contributorId, reason: (b.reason as string | undefined) ?? 'quarantined by the operator' };
}

export function registerGuardRoutes(router: Router, coord: Coordinator, statusFields: Map<string, () => unknown>): void {
  statusFields.set('robust', () => coord.guard.robustStatus());
  statusFields.set('dp', () => coord.guard.dpStatus());
  router.get('/api/admin/norm-stats', (_q, res) => sendJson(res, 200, coord.guard.normStats()), { admin: true });
  router.post('/api/admin/norm-stats/reset', async (_q, res) => {
    const forgotten = coord.guard.resetNormStats();
    const version = await coord.checkpoint();
    sendJson(res, 200, { ok: true, message: `norm statistics of ${forgotten} contributor(s) forgotten (checkpoint of version ${version} written)`, forgotten });
  }, { admin: true });
  router.get('/api/admin/accountability', (_q, res) => sendJson(res, 200, { contributors: accountability(coord.db), quarantined: quarantineList(coord.db) }), { admin: true });
  router.post('/api/admin/quarantine', async (req, res) => {
    const c = await contributorOf(req);
    if (typeof c === 'string') return sendJson(res, 400, { error: c });
    const added = coord.guard.quarantine(c.contributorId, c.reason);
    sendJson(res, 200, { ok: true, message: added ? `${c.contributorId} quarantined` : `${c.contributorId} was already quarantined` });
  }, { admin: true });
  router.post('/api/admin/release', async (req, res) => {
    const c = await contributorOf(req);
    if (typeof c === 'string') return sendJson(res, 400, { error: c });
    const removed = coord.guard.release(c.contributorId);
    sendJson(res, removed ? 200 : 404, removed ? { ok: true, message: `${c.contributorId} released` } : { error: `${c.contributorId} is not quarantined` });
  }, { admin: true });
}

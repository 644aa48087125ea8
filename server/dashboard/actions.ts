/**
 * Operator actions (pause/resume aggregation, force a checkpoint, flush the buffer, revoke a
 * contributor token), shared by the dashboard's socket and the admin HTTP routes. Every action,
 * refused ones included, becomes a row of `admin_actions` and a log line.
 */
import { z } from 'zod';
import type { Coordinator } from '../core/coordinator';
import type { FederationControl, FederationServer } from '../socket/federation';
import { tokenFingerprint } from '../socket/federation';
import type { Db } from '../store/db';
import type { ActionRequest, ActionResult, AdminAction } from './protocol';
import { recordRevocation } from '../store/revocations';
import { recordAdminAction } from './store';

export const ActionRequestSchema: z.ZodType<ActionRequest> = z.union([
  z.object({ action: z.enum(['pause', 'resume', 'checkpoint', 'flush']) }).strict(),
  z.object({ action: z.literal('revoke'), socketId: z.string().max(64).optional(), token: z.string().min(1).max(512).optional() })
    .strict()
    .refine((r) => (r.socketId === undefined) !== (r.token === undefined), { message: 'give exactly one of socketId or token' }),
]);

export interface ActionDeps {
  db: Db;
  coordinator: Coordinator;
  io: FederationServer;
  federation: FederationControl;
  tokensRequired: boolean;
  log: (line: string) => void;
  /** Called with every recorded action (the dashboard pushes it live). */
  onAction?: (a: AdminAction) => void;
}

/** Short public form of a token: the first 12 hex digits of its SHA-256. */
export const shortFingerprint = (token: string) => tokenFingerprint(token).slice(0, 12);

export function createActions(d: ActionDeps) {
  const revoke = (r: { socketId?: string; token?: string }): { result: ActionResult; target: string | null } => {
    if (!d.tokensRequired) return { result: { ok: false, message: 'this server is open (no contributor tokens): there is nothing to revoke' }, target: null };
    let token = r.token;
    if (r.socketId !== undefined) {
      const socket = d.io.of('/').sockets.get(r.socketId);
      if (!socket) return { result: { ok: false, message: `no contributor connected as ${r.socketId}` }, target: null };
      const t = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (typeof t !== 'string') return { result: { ok: false, message: 'that contributor connected without a token' }, target: null };
      token = t;
    }
    const fp = tokenFingerprint(token!);
    recordRevocation(d.db, fp);
    const { disconnected } = d.federation.revokeToken(token!);
    return { result: { ok: true, message: `token ${fp.slice(0, 12)} revoked; ${disconnected} connection(s) closed` }, target: fp.slice(0, 12) };
  };

  return {
    /** Runs a validated or raw request; never throws. */
    async perform(raw: unknown, actor: string): Promise<ActionResult> {
      const p = ActionRequestSchema.safeParse(raw);
      if (!p.success) return { ok: false, message: `bad action: ${p.error.issues[0]?.message ?? 'invalid'}` };
      const req = p.data;
      const c = d.coordinator;
      let result: ActionResult;
      let target: string | null = null;
      try {
        switch (req.action) {
          case 'pause':
            result = c.pause() ? { ok: true, message: `aggregation paused at version ${await c.settled()}` } : { ok: false, message: 'aggregation is already paused' };
            break;
          case 'resume':
            result = c.resume() ? { ok: true, message: `aggregation resumed at version ${c.version}` } : { ok: false, message: 'aggregation is not paused' };
            break;
          case 'checkpoint': {
            const v = await c.checkpoint();
            target = `v${v}`;
            result = { ok: true, message: `checkpoint of version ${v} written`, version: v };
            break;
          }
          case 'flush': {
            const before = c.version;
            const v = await c.flush();
            target = `v${v}`;
            result = { ok: true, message: v > before ? `buffer folded into version ${v}` : `nothing to fold (version ${v})`, version: v };
            break;
          }
          case 'revoke':
            ({ result, target } = revoke(req));
            break;
        }
      } catch (e) {
        result = { ok: false, message: `${req.action} failed: ${(e as Error).message}` };
      }
      try {
        const row = recordAdminAction(d.db, { at: Date.now(), action: req.action, target, actor, ok: result.ok, detail: result.message });
        d.onAction?.(row);
      } catch (e) {
        d.log(`admin action not recorded: ${(e as Error).message}`);
      }
      d.log(`admin ${req.action} by ${actor}: ${result.message}`);
      return result;
    },
  };
}

export type Actions = ReturnType<typeof createActions>;

/**
 * Extension points. A plugin is a start option (`startServer({ …, plugins: [...] })`, server.ts),
 * not a setting: it gets the running server's context once at start and can add HTTP routes
 * (`ctx.router`), listen to aggregation events (`ctx.events`), read history (`ctx.db` with
 * server/store/history.ts and update-queries.ts) and contribute fields to /api/status
 * (`ctx.statusFields`). The admin dashboard, /metrics and the public page plug in this way.
 */
import type { Db } from './store/db';
import type { Router } from './http/router';
import type { ServerEvents } from './core/events';
import type { Coordinator } from './core/coordinator';

export interface ServerContext {
  router: Router;
  events: ServerEvents;
  db: Db;
  coordinator: Coordinator;
  /** Extra /api/status fields, computed per request. */
  statusFields: Map<string, () => unknown>;
  log: (line: string) => void;
  /** Checks an `Authorization: Bearer <admin token>` header. */
  isAdmin(authorization: string | undefined): boolean;
}

export type ServerPlugin = (ctx: ServerContext) => void | Promise<void>;

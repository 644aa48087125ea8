/**
 * A small HTTP router for the server's routes (and the plugins' — dashboard, /metrics, public
 * page). Patterns are paths with `:param` segments; handlers get the decoded params. Errors
 * thrown by a handler become a JSON 500 without crashing the process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => void | Promise<void>;

export interface RouteOptions {
  /** Send permissive CORS headers (public GET routes) and answer preflights. */
  cors?: boolean;
  /** Require `Authorization: Bearer <admin token>`. */
  admin?: boolean;
}

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
  options: RouteOptions;
}

export class Router {
  private routes: Route[] = [];

  constructor(private readonly isAdmin: (authorization: string | undefined) => boolean, private readonly log: (line: string) => void = () => {}) {}

  get(path: string, handler: Handler, options: RouteOptions = {}): this {
    return this.add('GET', path, handler, options);
  }

  post(path: string, handler: Handler, options: RouteOptions = {}): this {
    return this.add('POST', path, handler, options);
  }

  add(method: string, path: string, handler: Handler, options: RouteOptions = {}): this {
    this.routes.push({ method, segments: split(path), handler, options });
    return this;
  }

  /** Handles the request; false if no route matches the path (the caller answers 404). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendJson(res, 400, { error: 'bad URL' });
      return true;
    }
    const parts = split(url.pathname);
    const method = req.method === 'HEAD' ? 'GET' : req.method ?? 'GET';
    let pathMatched: Route | null = null;
    for (const r of this.routes) {
      const params = match(r.segments, parts);
      if (!params) continue;
      pathMatched ??= r;
      if (r.options.cors) setCors(res);
      if (req.method === 'OPTIONS' && r.options.cors) {
        res.writeHead(204, { 'Access-Control-Max-Age': '86400' }).end();
        return true;
      }
      if (r.method !== method) continue;
      if (r.options.admin && !this.isAdmin(req.headers.authorization)) {
        sendJson(res, 401, { error: 'admin token required (Authorization: Bearer <token>)' }, { 'WWW-Authenticate': 'Bearer' });
        return true;
      }
      try {
        await r.handler(req, res, params, url);
      } catch (e) {
        this.log(`${req.method} ${url.pathname} failed: ${(e as Error).stack ?? e}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal server error' });
        else res.destroy();
      }
      return true;
    }
    if (pathMatched) {
      sendJson(res, 405, { error: `method ${req.method} not allowed` });
      return true;
    }
    return false;
  }
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function match(pattern: string[], parts: string[]): Params | null {
  if (pattern.length !== parts.length) return null;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return null;
      }
    } else if (p !== parts[i]) return null;
  }
  return params;
}

export function setCors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'If-None-Match, Content-Type');
  res.setHeader('Access-Control-Expose-Headers', 'ETag, X-Glimpse-Version, X-Glimpse-Encoder-Source, Content-Length');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

/** Sends bytes with an ETag; answers 304 when If-None-Match matches. */
export function sendCached(
  req: IncomingMessage,
  res: ServerResponse,
  o: { etag: string; contentType: string; body: Uint8Array | string; cacheControl: string; headers?: Record<string, string> },
): void {
  const headers = { ETag: o.etag, 'Cache-Control': o.cacheControl, ...(o.headers ?? {}) };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').map((s) => s.trim().replace(/^W\//, '')).some((t) => t === o.etag || t === '*')) {
    res.writeHead(304, headers).end();
    return;
  }
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
  res.writeHead(200, { ...headers, 'Content-Type': o.contentType, 'Content-Length': body.byteLength });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Reads a small request body (admin POSTs) with a size cap. */
export async function readBody(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

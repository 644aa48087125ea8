/**
 * Why the trainer could not connect, in the codes the popup words: a browser hides why a
 * WebSocket handshake failed (an Origin the server refuses and a server that is down look the
 * same), so a failed connect asks the server's public /api/status over plain HTTP: an answer
 * means the server is up and refused this browser; none means it is down or unreachable.
 */
import { FederationError } from '../../shared/protocol/client';
import type { WaitCode } from '../common/stats';

export type ConnectProblem = Extract<WaitCode, 'server-down' | 'origin-refused' | 'token-refused' | 'incompatible'>;

export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(readonly code: ConnectProblem, message: string) {
    super(message);
  }
}

export const PROBE_TIMEOUT_MS = 5000;

/** Whether the server's HTTP side answers (its status page, CORS-enabled for any origin). */
export async function serverAnswers(serverUrl: string, fetcher: typeof fetch = fetch): Promise<boolean> {
  try {
    const res = await fetcher(new URL('/api/status', serverUrl), { credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Turns a failed connect into a ConnectError; anything else is passed through. */
export async function classifyConnectFailure(e: unknown, serverUrl: string, fetcher?: typeof fetch): Promise<unknown> {
  if (!(e instanceof FederationError)) return e;
  if (e.code === 'unauthorized') return new ConnectError('token-refused', `the server refused the contributor token (${e.message})`);
  if (e.code === 'unsupported_protocol') return new ConnectError('incompatible', e.message);
  if (e.code !== 'connect_failed' && e.code !== 'disconnected' && e.code !== 'timeout') return e;
  return (await serverAnswers(serverUrl, fetcher))
    ? new ConnectError('origin-refused', `the server answers but refused this browser's connection (${e.message})`)
    : new ConnectError('server-down', `cannot reach the server (${e.message})`);
}

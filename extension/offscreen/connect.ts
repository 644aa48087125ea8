/**
 * The federation seam implemented with the shared FederationClient (shared/protocol/client.ts):
 * the extension speaks the one Glimpse protocol. Weights stay GLWT bytes on this side: pulled
 * weights go to the training worker as received, and the worker's encoded delta goes to the
 * server as it is (the worker decodes, checks and encodes; nothing is decoded here).
 */
import { FederationClient } from '../../shared/protocol/client';
import { submitPatiently } from '../../shared/protocol/patience';
import { classifyConnectFailure } from './connect-error';
import type { Connect, FederationConnection } from './federation';

/** Failed socket attempts before a connect gives up and says why (./connect-error.ts). */
const CONNECT_ATTEMPTS = 2;

/** An ArrayBuffer holding exactly `bytes` (the same memory when the view covers all of it), for transfer to a worker. */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

export const connectFederation: Connect = async ({ serverUrl, token, backend, clientId, cores }) => {
  const client = new FederationClient({
    url: serverUrl,
    clientKind: 'extension',
    backend,
    token: token || undefined,
    clientId,
    capabilities: { cores: cores ?? globalThis.navigator?.hardwareConcurrency ?? 0 },
    connectAttempts: CONNECT_ATTEMPTS,
  });
  try {
    await client.connect();
  } catch (e) {
    throw await classifyConnectFailure(e, serverUrl);
  }
  const conn: FederationConnection = {
    get plan() {
      return client.plan;
    },
    get connected() {
      return client.connected;
    },
    get latestVersion() {
      return client.knownVersion;
    },
    async pull() {
      const { version, bytes } = await client.pullEncoded('latest');
      return { version, weights: ownBuffer(bytes) };
    },
    async submit(r) {
      const ack = await submitPatiently(client, {
        updateId: r.updateId,
        baseVersion: r.baseVersion,
        examples: r.examples,
        metrics: r.metrics,
        delta: new Uint8Array(r.delta),
      });
      return ack.ok
        ? { accepted: true, version: ack.version }
        : { accepted: false, version: ack.version, code: ack.code, reason: ack.reason, retryAfterMs: ack.retryAfterMs };
    },
    onVersion(listener) {
      client.on('version', (e) => listener(e.version));
    },
    onConnectionChange(listener) {
      client.on('disconnect', () => listener(false));
      client.on('reconnect', () => listener(true));
    },
    close: () => client.close(),
  };
  return conn;
};

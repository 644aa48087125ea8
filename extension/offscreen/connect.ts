/**
 * The federation seam implemented with the shared FederationClient (shared/protocol/client.ts):
 * the extension speaks the one Glimpse protocol and adds only the ArrayBuffer ⇄ WeightMap
 * conversion its worker boundary needs.
 */
import { FederationClient } from '../../shared/protocol/client';
import { submitPatiently } from '../../shared/protocol/patience';
import { decodeWeights, encodeWeights } from '../../shared/weights/codec';
import type { Connect, FederationConnection } from './federation';

export const connectFederation: Connect = async ({ serverUrl, token, backend, clientId }) => {
  const client = new FederationClient({
    url: serverUrl,
    clientKind: 'extension',
    backend,
    token: token || undefined,
    clientId,
    capabilities: { cores: globalThis.navigator?.hardwareConcurrency ?? 0 },
  });
  await client.connect();
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
      const { version, weights } = await client.pullWeights('latest');
      const bytes = encodeWeights(weights);
      return { version, weights: bytes.buffer as ArrayBuffer };
    },
    async submit(r) {
      const ack = await submitPatiently(client, {
        updateId: r.updateId,
        baseVersion: r.baseVersion,
        examples: r.examples,
        metrics: r.metrics,
        delta: decodeWeights(new Uint8Array(r.delta)).weights,
      });
      return ack.ok
        ? { accepted: true, version: ack.version }
        : { accepted: false, version: ack.version, code: ack.code, reason: ack.reason };
    },
    onVersion(listener) {
      client.on('version', (e) => listener(e.version));
    },
    close: () => client.close(),
  };
  return conn;
};

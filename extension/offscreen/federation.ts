/**
 * What the contributor needs from the Glimpse server: a thin seam over the shared
 * FederationClient (shared/protocol/client.ts), so the contributor loop is testable without a
 * socket and the protocol is written once.
 */
import type { Plan, RejectCode } from '../../shared/protocol/messages';

export interface SubmitOutcome {
  accepted: boolean;
  /** Global version when the server answered. */
  version: number;
  /** Why it was refused (when not accepted). */
  code?: RejectCode;
  reason?: string;
  /** With 'busy' / 'rate_limited': the server's wait hint. */
  retryAfterMs?: number;
}

export interface FederationConnection {
  /** The latest plan (updated on `plan:update`). */
  readonly plan: Plan;
  readonly connected: boolean;
  /** Latest global version the server announced. */
  readonly latestVersion: number;
  /** The newest global weights, GLWT bytes as the server sent them. */
  pull(): Promise<{ version: number; weights: ArrayBuffer }>;
  /** `delta`: GLWT bytes as the training worker encoded them; sent unchanged. */
  submit(r: { updateId: string; baseVersion: number; examples: number; metrics: { loss?: number; steps?: number; msPerStep?: number; backend?: string }; delta: ArrayBuffer }): Promise<SubmitOutcome>;
  /** Called when the server announces a new global version. */
  onVersion(listener: (version: number) => void): void;
  /** Called when the connection drops (it reconnects by itself) and when it is back. */
  onConnectionChange?(listener: (connected: boolean) => void): void;
  close(): void;
}

export interface ConnectOptions {
  serverUrl: string;
  token: string;
  backend: string;
  clientId: string;
  /** Cores training may use, announced in the hello's capabilities. */
  cores?: number;
}

/** Connects and says hello; a failure is a ConnectError (./connect-error.ts) saying why, where known. */
export type Connect = (o: ConnectOptions) => Promise<FederationConnection>;

/**
 * Where the bytes of accepted, not yet folded deltas live (their metadata is a row of `updates`,
 * see update-log.ts). The update log asks a DeltaStore to make a batch durable before it commits
 * the batch's rows and the updates are acknowledged.
 *
 * This interface is the seam for the durability strategy. The server uses the append-only delta
 * log (delta-log.ts: one write and one fdatasync per batch); pending.ts, one file and one fsync per
 * delta, is how older data directories stored them (legacy-deltas.ts still reads those). The
 * update log, the group commit and the coordinator rely only on "writeBatch resolved ⇒ every
 * delta of the batch survives a crash; read(ref) returns the bytes written under ref".
 */
export interface DeltaStore {
  /** Prepares the storage (creates its directory, …). Called once before any other method. */
  init(): Promise<void>;
  /** A fresh reference for a delta about to be written (server-chosen, never client input). */
  newRef(): string;
  /** Writes every entry durably: once this resolves, a crash loses none of them. */
  writeBatch(entries: ReadonlyArray<{ ref: string; bytes: Uint8Array }>): Promise<void>;
  read(ref: string): Promise<Uint8Array>;
  /** Forgets the given deltas (missing ones are ignored). */
  remove(refs: readonly string[]): Promise<void>;
  /** Every stored reference: recovery deletes those that no committed row names. */
  list(): Promise<string[]>;
  /** Releases open files (shutdown). */
  close?(): Promise<void>;
}

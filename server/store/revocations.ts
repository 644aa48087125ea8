/**
 * Revoked contributor tokens, kept in the run database (`revoked_tokens`, see db.ts) as SHA-256
 * fingerprints, never the tokens themselves. The federation refuses them at the handshake from
 * the first connection of a start on, with or without the admin dashboard.
 */
import type { Db } from './db';

export function recordRevocation(db: Db, fingerprint: string, at = Date.now()): void {
  db.prepare('INSERT OR IGNORE INTO revoked_tokens (fingerprint, at) VALUES (?, ?)').run(fingerprint, at);
}

/** Fingerprints in the order they were revoked. */
export function revokedFingerprints(db: Db): string[] {
  return db.prepare('SELECT fingerprint FROM revoked_tokens ORDER BY at').pluck().all() as string[];
}

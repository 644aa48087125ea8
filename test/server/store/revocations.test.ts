/** Revoked contributor tokens live in the run database, with or without the dashboard. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../server/store/db';
import { recordRevocation, revokedFingerprints } from '../../../server/store/revocations';
import { tempDir } from '../helpers';

describe('revocations', () => {
  const t = tempDir();
  const db = openDatabase(join(t.dir, 'glimpse.db'));
  afterAll(() => {
    db.close();
    t.cleanup();
  });

  it('keeps revoked fingerprints once', () => {
    recordRevocation(db, 'f1', 5);
    recordRevocation(db, 'f2', 6);
    recordRevocation(db, 'f1', 7);
    expect(revokedFingerprints(db)).toEqual(['f1', 'f2']);
  });
});

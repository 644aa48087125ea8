/**
 * The admin token: from config, else GLIMPSE_ADMIN_TOKEN, else <dataDir>/admin-token, else
 * generated at first start, stored there (mode 0600) and reported once so the operator can copy it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './store/atomic-file';

export async function resolveAdminToken(dataDir: string, configured: string | undefined): Promise<{ token: string; generated: boolean; source: string }> {
  if (configured) return { token: configured, generated: false, source: 'config' };
  const env = process.env.GLIMPSE_ADMIN_TOKEN;
  if (env) return { token: env, generated: false, source: 'GLIMPSE_ADMIN_TOKEN' };
  const path = join(dataDir, 'admin-token');
  try {
    const t = (await readFile(path, 'utf8')).trim();
    if (t.length >= 16) return { token: t, generated: false, source: path };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(24).toString('base64url');
  await writeFileAtomic(path, new TextEncoder().encode(token + '\n'), 0o600);
  return { token, generated: true, source: path };
}

export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

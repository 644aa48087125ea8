/**
 * Atomic, durable file replacement: temp file in the same directory → fsync → rename over the
 * target → fsync the directory. Without the fsyncs a crash can leave a zero-length or partial file:
 * rename is atomic but says nothing about when the data or the directory entry reach the disk
 * (Pillai et al. 2014, "All File Systems Are Not Created Equal", OSDI; the crash test,
 * test/server/crash.test.ts, kills the server between each pair of these steps). A reader sees the
 * old file or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { failpoint } from './failpoints';

export const TMP_SUFFIX = '.tmp';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`);
  const fh = await open(tmp, 'w', mode);
  try {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await fh.write(data, off, data.length - off);
      off += bytesWritten;
      if (off < data.length / 2) failpoint('atomic:mid-write');
    }
    failpoint('atomic:before-fsync');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  failpoint('atomic:before-rename');
  await rename(tmp, path);
  failpoint('atomic:after-rename');
  await fsyncDir(dir);
}

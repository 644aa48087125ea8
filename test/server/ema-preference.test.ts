import { describe, expect, it } from 'vitest';
import { startTiny, tempDir } from './helpers';

describe("the target EMA follows the method's preference unless the operator sets one", () => {
  it('MoCo runs with momentum 0.999, BYOL with the default 0.99, an explicit --ema wins, and a restart keeps it', async () => {
    const dir = tempDir();
    const moco = await startTiny({ method: 'moco', dataDir: dir.dir });
    try {
      expect(moco.coordinator.emaSchedule().base).toBe(0.999);
    } finally {
      await moco.close(); // keep the data dir: restart from its checkpoint
    }
    const again = await startTiny({ method: 'moco', dataDir: moco.dataDir });
    try {
      expect(again.coordinator.emaSchedule().base).toBe(0.999);
    } finally {
      await again.cleanup();
      dir.cleanup();
    }
    const byol = await startTiny({ method: 'byol' });
    try {
      expect(byol.coordinator.emaSchedule().base).toBe(0.99);
    } finally {
      await byol.cleanup();
    }
    const explicit = await startTiny({ method: 'moco', aggregation: { ema: { base: 0.9, kind: 'constant' } } });
    try {
      expect(explicit.coordinator.emaSchedule().base).toBe(0.9);
    } finally {
      await explicit.cleanup();
    }
  });
});

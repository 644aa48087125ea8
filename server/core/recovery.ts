/**
 * Opening a run's data directory: the run database, the checkpoint and delta stores, and the
 * state to continue from — version 0 of a new run, or the newest checkpoint that reads cleanly
 * with the update log reconciled to it (store/update-log.ts recover: folded rows marked applied,
 * pending updates back in the buffer, orphaned deltas deleted). Crash recovery is just this.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { BufferedUpdate, GlobalState, StepSummary } from '../aggregation/fedbuff';
import { normStatsOfCheckpoint, type NormStats } from '../aggregation/norm-stats';
import { ledgerOf, type PrivacyLedger } from '../aggregation/rdp-accountant';
import { decodeDelta } from '../aggregation/validate';
import type { ResolvedConfig } from '../config';
import { CheckpointStore } from '../store/checkpoint';
import { openDatabase, type Db } from '../store/db';
import { recordStep } from '../store/history';
import { DeltaLog } from '../store/delta-log';
import { WithLegacyFiles } from '../store/legacy-deltas';
import { PendingStore } from '../store/pending';
import { UpdateLog } from '../store/update-log';
import { freshRun, runOfCheckpoint, type RunInfo } from './run';

/** Everything a coordinator starts from. */
export interface OpenedRun {
  db: Db;
  checkpoints: CheckpointStore;
  log: UpdateLog;
  run: RunInfo;
  state: GlobalState;
  buffer: BufferedUpdate[];
  normStats: NormStats;
  privacy: PrivacyLedger | null;
  folded: Array<{ version: number; ids: string[] }>;
  lastStep: StepSummary | null;
  /** True for a new run: nothing is on disk yet, its version 0 still has to be checkpointed. */
  fresh: boolean;
}

/** Opens (or creates) the run in `config.dataDir`. The database is closed again if this fails. */
export async function openRun(config: ResolvedConfig): Promise<OpenedRun> {
  await mkdir(config.dataDir, { recursive: true });
  const db = openDatabase(join(config.dataDir, 'glimpse.db'));
  try {
    const checkpoints = new CheckpointStore(join(config.dataDir, 'checkpoints'), config.keepCheckpoints);
    // Deltas go to the append-only log; pending/ holds those of a data directory from before it.
    const deltas = new WithLegacyFiles(new DeltaLog(join(config.dataDir, 'deltas'), config.log), new PendingStore(join(config.dataDir, 'pending')), (r) => r.endsWith('.glwt'));
    await deltas.init();
    await checkpoints.removeTempFiles();
    const { checkpoint: c, skipped } = await checkpoints.loadLatest();
    for (const s of skipped) config.log(`skipped unreadable checkpoint ${s}`);
    const log = new UpdateLog(db, deltas, config.log);
    if (!c) {
      const { run, state } = await freshRun(config);
      return { db, checkpoints, log, run, state, buffer: [], normStats: [], privacy: null, folded: [], lastStep: null, fresh: true };
    }
    const { run, state } = runOfCheckpoint(config, c);
    const m = c.meta;
    const decode = (bytes: Uint8Array): WeightMap | null => {
      const d = decodeDelta(bytes, run.onlineSpecs);
      return d.ok ? d.value : null;
    };
    // The checkpoint's own step row, in case the commit after writing it was interrupted.
    const lastStep = m.lastStep;
    const ownStep = () => lastStep && lastStep.version === m.version && recordStep(db, lastStep);
    const buffer = await log.recover({ version: m.version, folded: m.folded, buffer: c.buffer }, decode, ownStep);
    config.log(`resumed run ${run.runId} (${run.method}) at version ${state.version}, ${buffer.length} buffered update(s)`);
    return { db, checkpoints, log, run, state, buffer, normStats: normStatsOfCheckpoint(m), privacy: ledgerOf(m.privacy), folded: m.folded, lastStep: m.lastStep, fresh: false };
  } catch (e) {
    db.close();
    throw e;
  }
}

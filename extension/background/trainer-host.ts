/**
 * Where the trainer lives. Chrome: an offscreen document (reason WORKERS) that owns the
 * federation connection and the training Web Worker. Firefox has no offscreen API: its
 * background page hosts the same trainer in-process. The background only sees this interface.
 */
import type { ToOffscreen } from '../common/messages';

export interface TrainerHost {
  /** Starts the trainer if it is not running (idempotent, safe to call concurrently). */
  ensure(): Promise<void>;
  /** Stops it (paused, opted out). */
  close(): Promise<void>;
  /** Delivers a message if the trainer is running; never starts it. */
  send(msg: ToOffscreen): Promise<unknown>;
  isRunning(): Promise<boolean>;
}

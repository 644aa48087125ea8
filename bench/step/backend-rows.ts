/** The shape of `bench:step -- --backends` rows and of the sources that measure them (backends.ts lists the sources). */
export interface BackendRow {
  backend: string;
  /** Where it ran: 'node', 'chromium', … */
  host: string;
  method: string;
  batch: number;
  /** Median wall ms per step; null when the backend did not run (see `unavailable`). */
  msPerStep: number | null;
  /** Minimum process CPU ms of a step (not available from every host). */
  minCpuMs?: number;
  imagesPerSecond: number | null;
  /** The loss of the last timed step, where the source reports it. */
  loss?: number;
  note?: string;
  /** Why there is no time: the backend failed to start, was stopped, or was skipped. */
  unavailable?: string;
}

/** What a source returns: its rows, lines printed after the table, and anything for the JSON report. */
export interface BackendRows {
  rows: BackendRow[];
  lines?: string[];
  details?: Record<string, unknown>;
}

export interface BackendRowOptions {
  batch: number;
  steps: number;
  methods: string[];
  threads: number;
  /** --browser-backends: the backends browser sources measure (default: all they know). */
  browserBackends?: string[];
  /** --skip-cpu: no stock tfjs-cpu step (minutes each). */
  skipCpu: boolean;
  /** Stock tfjs-cpu takes minutes per step: measured in a child process, one step, when asked. */
  cpu: () => Promise<Record<string, { msPerStep: number; minCpuMs?: number }> | null>;
}

export interface BackendRowSource {
  name: string;
  rows(o: BackendRowOptions): Promise<BackendRows>;
}

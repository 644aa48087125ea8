/**
 * The CLI flags of the run's defences (issue 13): the robust combine, the norm guard's floor and
 * DP-FedAvg. Parsed here so that cli.ts only lists the flags and passes the values on.
 */
import type { DpConfig } from './aggregation/dp-fedavg';
import { ROBUST_KINDS, type RobustConfig } from './aggregation/robust';

export const GUARD_FLAGS = ['robust', 'bucket-size', 'trim', 'cc-iterations', 'cc-center', 'norm-floor', 'dp-clip', 'dp-noise', 'dp-delta'] as const;

export const GUARD_USAGE = `  --robust <rule>           centered-clip | trimmed-mean | median | none  [centered-clip on an open server, none with --tokens]
  --bucket-size <s>         centered clipping's bucket size (non-IID)  [2]
  --trim <β>                trimmed mean's fraction cut from each end  [0.2]
  --cc-iterations <n>       centered-clipping iterations            [1]
  --cc-center <c>           centered clipping around: previous (the last aggregate) | zero  [previous]
  --norm-floor <x>          the norm guard's relative bound never falls below x  [0.01]
  --dp-clip <C>             client-level DP-FedAvg: clip each contributor's update to C (turns DP on)  [off]
  --dp-noise <σ>            DP noise multiplier: N(0, σ²C²) on each aggregate's sum  [1]
  --dp-delta <δ>            δ at which ε is reported                [1e-5]
`;

export class GuardUsageError extends Error {}

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

function num(name: string, v: Values[string], integer = false): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new GuardUsageError(`--${name} expects ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

/** The aggregation settings the flags give (only those set). */
export function guardOptions(v: Values): { robust?: Partial<RobustConfig>; dp?: DpConfig; floor?: number } {
  const out: { robust?: Partial<RobustConfig>; dp?: DpConfig; floor?: number } = {};
  const kind = v.robust;
  if (kind !== undefined && !(ROBUST_KINDS as readonly unknown[]).includes(kind)) throw new GuardUsageError(`--robust must be one of ${ROBUST_KINDS.join(', ')}, got '${String(kind)}'`);
  const center = v['cc-center'];
  if (center !== undefined && center !== 'previous' && center !== 'zero') throw new GuardUsageError(`--cc-center must be previous or zero, got '${String(center)}'`);
  const robust = Object.fromEntries(Object.entries({
    center,
    kind, bucketSize: num('bucket-size', v['bucket-size'], true), trim: num('trim', v.trim), iterations: num('cc-iterations', v['cc-iterations'], true),
  }).filter(([, x]) => x !== undefined)) as Partial<RobustConfig>;
  if (Object.keys(robust).length) out.robust = robust;
  const floor = num('norm-floor', v['norm-floor']);
  if (floor !== undefined) out.floor = floor;
  const clip = num('dp-clip', v['dp-clip']);
  const noise = num('dp-noise', v['dp-noise']);
  const delta = num('dp-delta', v['dp-delta']);
  if (clip === undefined && (noise !== undefined || delta !== undefined)) throw new GuardUsageError('--dp-noise and --dp-delta need --dp-clip (which turns DP on)');
  if (clip !== undefined) out.dp = { clip, noiseMultiplier: noise ?? 1, delta: delta ?? 1e-5 };
  return out;
}

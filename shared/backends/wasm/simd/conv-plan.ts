/**
 * Convolution geometry → kernel jobs (pure functions, no memory): which filter taps to pack and
 * how the implicit GEMM walks its input and writes its output, for the forward pass, the input
 * gradient and the filter gradient of an NHWC convolution.
 *
 * The input gradient is a transposed convolution. For stride s it splits into s×s sub-pixel
 * phases (Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient
 * Sub-Pixel Convolutional Neural Network"): input positions i = a·s + p of phase p receive only
 * the taps k ≡ (p + pad) mod s, so each phase is a stride-1 convolution of dy with a flipped,
 * transposed sub-filter, written straight to its interleaved positions. Stride 1 is one phase.
 */
import type { DwJob, IgemmJob } from './jobs';

/** The geometry the kernels need; tfjs's `backend_util.Conv2DInfo` has these fields. */
export interface ConvGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  padInfo: { top: number; left: number };
}

/** Arguments of the `pack_filter` export (after `dst` and the filter pointer). */
export interface PackArgs {
  kw: number;
  wci: number;
  wco: number;
  th: number;
  tw: number;
  ky0: number;
  kys: number;
  kx0: number;
  kxs: number;
  transposed: 0 | 1;
}

/** The pointer fields of a job, filled in when memory is allocated. */
type IgemmPointers = 'x' | 'wpack' | 'bias' | 'out' | 'zero' | 'counter' | 'relu';

export interface IgemmPlan {
  pack: PackArgs;
  /** Floats of the packed filter: ceil(cout / nr) · nr · taps · cin. */
  packFloats: number;
  job: Omit<IgemmJob, IgemmPointers>;
}

function packFloats(job: { th: number; tw: number; cin: number; cout: number }, nr: number): number {
  return Math.ceil(job.cout / nr) * nr * job.th * job.tw * job.cin;
}

/** y [N, Ho, Wo, Co] = conv(x [N, H, W, Ci], W [kh, kw, Ci, Co]). */
export function forwardPlan(g: ConvGeometry, nr: number): IgemmPlan {
  const job = {
    n: g.batchSize, h: g.inHeight, w: g.inWidth, cin: g.inChannels,
    th: g.filterHeight, tw: g.filterWidth, sh: g.strideHeight, sw: g.strideWidth, pt: g.padInfo.top, pl: g.padInfo.left,
    oh: g.outHeight, ow: g.outWidth, cout: g.outChannels,
    dh: g.outHeight, dw: g.outWidth, dsy: 1, doy: 0, dsx: 1, dox: 0,
  };
  const pack: PackArgs = { kw: g.filterWidth, wci: g.inChannels, wco: g.outChannels, th: g.filterHeight, tw: g.filterWidth, ky0: 0, kys: 1, kx0: 0, kxs: 1, transposed: 0 };
  return { pack, packFloats: packFloats(job, nr), job };
}

/** One axis of a sub-pixel phase p: its output count, the taps it reads and their padding. */
export function phaseAxis(p: number, s: number, k: number, pad: number, inSize: number): { count: number; taps: number; k0: number; padBefore: number } {
  const count = Math.max(0, Math.ceil((inSize - p) / s));
  const k0 = (((p + pad) % s) + s) % s;
  const taps = k0 < k ? Math.ceil((k - k0) / s) : 0;
  const d = (p + pad - k0) / s;
  return { count, taps, k0, padBefore: taps - 1 - d };
}

/**
 * dx [N, H, W, Ci] from dy [N, Ho, Wo, Co] and W [kh, kw, Ci, Co]: one plan per sub-pixel phase
 * with at least one position. A phase with no taps has an empty filter and writes zeros.
 */
export function backpropInputPlans(g: ConvGeometry, nr: number): IgemmPlan[] {
  const plans: IgemmPlan[] = [];
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  for (let py = 0; py < sh; py++) {
    for (let px = 0; px < sw; px++) {
      const ay = phaseAxis(py, sh, g.filterHeight, g.padInfo.top, g.inHeight);
      const ax = phaseAxis(px, sw, g.filterWidth, g.padInfo.left, g.inWidth);
      if (ay.count === 0 || ax.count === 0) continue;
      const empty = ay.taps === 0 || ax.taps === 0;
      const th = empty ? 0 : ay.taps;
      const tw = empty ? 0 : ax.taps;
      const job = {
        n: g.batchSize, h: g.outHeight, w: g.outWidth, cin: g.outChannels,
        th, tw, sh: 1, sw: 1, pt: ay.padBefore, pl: ax.padBefore,
        oh: ay.count, ow: ax.count, cout: g.inChannels,
        dh: g.inHeight, dw: g.inWidth, dsy: sh, doy: py, dsx: sw, dox: px,
      };
      const pack: PackArgs = {
        kw: g.filterWidth, wci: g.inChannels, wco: g.outChannels, th, tw,
        ky0: ay.k0 + (ay.taps - 1) * sh, kys: -sh, kx0: ax.k0 + (ax.taps - 1) * sw, kxs: -sw, transposed: 1,
      };
      plans.push({ pack, packFloats: packFloats(job, nr), job });
    }
  }
  return plans;
}

/** Bytes of x and dy a block of output rows should stay within (a share of a 1 MB L2). */
const DW_BLOCK_BYTES = 96 * 1024;

/** dW [kh, kw, Ci, Co] from x [N, H, W, Ci] and dy [N, Ho, Wo, Co]; `groups` work items (one per thread). */
export function backpropFilterPlan(g: ConvGeometry, groups: number): Omit<DwJob, 'x' | 'dy' | 'dw' | 'counter'> {
  const rowBytes = 4 * (g.outWidth * g.outChannels + g.strideHeight * g.inWidth * g.inChannels);
  return {
    n: g.batchSize, h: g.inHeight, w: g.inWidth, cin: g.inChannels,
    oh: g.outHeight, ow: g.outWidth, cout: g.outChannels,
    kh: g.filterHeight, kw: g.filterWidth, sh: g.strideHeight, sw: g.strideWidth, pt: g.padInfo.top, pl: g.padInfo.left,
    rowsPerBlock: Math.max(1, Math.floor(DW_BLOCK_BYTES / rowBytes)),
    groups: Math.max(1, groups),
  };
}

/**
 * The PyTorch peer's curve: bench/peers/torch_ssl.py trains the same SimCLR recipe and writes the
 * encoder (tfjs weight names, safetensors) at each checkpoint; here each file is loaded into a
 * tfjs encoder and scored with the same protocol code as every Glimpse encoder, so the two curves
 * differ only in the training implementation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEncoder, type EncoderConfig } from '../../shared/models/encoder';
import { writeWeights } from '../../shared/models/weights-io';
import { reconstructionOf } from '../../shared/ssl/reconstruction';
import { resolveMethodConfig } from '../../shared/ssl/registry';
import { decodeSafetensors } from '../../server/model/safetensors';
import { findTorchPython } from '../../server/model/python';
import { evaluatePoint, pointLine, type Curve, type CurveContext } from './curves';
import type { Recipe } from './recipe';

const SCRIPT = fileURLToPath(new URL('../peers/torch_ssl.py', import.meta.url));

/** Runs the peer until done or `ctx.deadline` (then kills its process group), then evaluates what it wrote. */
export async function peerCurve(recipe: Recipe, ctx: CurveContext, dataDir: string): Promise<Curve> {
  const curve: Curve = { method: 'simclr', setting: 'PyTorch peer', points: [] };
  const py = await findTorchPython();
  if (!py) return { ...curve, stopped: 'no Python with torch here (apt-get install python3-torch)' };
  const out = mkdtempSync(path.join(tmpdir(), 'glimpse-peer-'));
  try {
    const enc = resolveMethodConfig('simclr', recipe.methodConfig).encoder;
    const args = [
      SCRIPT, '--out', out, '--checkpoints', ctx.checkpoints.join(','), '--data', dataDir, '--batch', String(recipe.batch),
      '--lr', String(recipe.optimizer.learningRate), '--warmup', String(recipe.warmup), '--temperature', String(recipe.methodConfig.temperature ?? 0.5),
      '--crop-lo', String(recipe.methodConfig.view?.cropScale?.[0] ?? 0.7), '--widths', enc.widths.join(','), '--pool-grid', String(enc.poolGrid ?? 1),
      '--seed', String(recipe.seed), '--threads', '1',
    ];
    const view = recipe.methodConfig.view;
    // The layout-keeping view (GRAYSCALE_LAYOUT_VIEW): the peer's shift-erase draws the same family.
    if (view?.shiftPx || view?.eraseP) args.push('--view', 'shift-erase', '--shift', String(view.shiftPx ?? 0), '--erase', String(view.eraseP ?? 0));
    const recon = reconstructionOf(resolveMethodConfig('simclr', recipe.methodConfig));
    if (recon) args.push('--recon', String(recon.weight), '--recon-size', String(recon.size));
    const t0 = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(py.command, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => { for (const l of d.toString().split('\n')) if (l.trim()) ctx.log(`  ${l.trim()}`); });
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, Math.max(1000, ctx.deadline - Date.now()));
      child.on('close', (c) => { clearTimeout(timer); resolve(c); });
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    if (code !== 0) curve.stopped = `peer exited with ${code} (time share spent, or an error above)`;
    const meta = existsSync(path.join(out, 'peer.json')) ? JSON.parse(readFileSync(path.join(out, 'peer.json'), 'utf8')) : null;
    if (meta) curve.notes = `torch ${meta.torch}, ${meta.threads} thread(s), ${meta.steps} steps in ${Math.round(meta.seconds)} s`;
    for (const examples of ctx.checkpoints) {
      const file = path.join(out, `encoder-${examples}.safetensors`);
      if (!existsSync(file)) break;
      // A copy: decodeSafetensors slices the bytes' buffer, and a Buffer from readFileSync may share a pool.
      const { weights, metadata } = decodeSafetensors(new Uint8Array(readFileSync(file)));
      const encoder = buildEncoder(JSON.parse(metadata.encoderConfig) as EncoderConfig);
      try {
        writeWeights([{ prefix: '', models: [encoder] }], weights);
        // Training time per checkpoint is not reported by the peer per point: the share of the total.
        const p = evaluatePoint(encoder, ctx, examples, (trainSeconds * examples) / ctx.checkpoints[ctx.checkpoints.length - 1]);
        curve.points.push(p);
        ctx.log(pointLine(curve, p));
      } finally {
        encoder.dispose();
      }
    }
    return curve;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * `glimpse export`: writes an encoder version's files (model.json + weights, encoder.safetensors,
 * encoder.onnx where Python with torch is available, MODEL_CARD.md) from a stopped run's data
 * directory into a folder, without starting a server (server/model/offline-export.ts).
 */
import { parseArgs } from 'node:util';
import { intFlag, UsageError } from '../shared/cli/args';
import { ExportError, exportOffline } from '../server/model/offline-export';

export const EXPORT_HELP = `Usage: glimpse export --data-dir DIR --out DIR [options]
  --data-dir DIR   the run's data directory (npm start: .glimpse/demo; glimpse-server: --data-dir, default ./.glimpse)
  --out DIR        folder to write model.json, weights.v<N>.bin, encoder.safetensors, encoder.onnx, MODEL_CARD.md
  --version N      a kept checkpoint's version (default: the newest)
  --onnx           fail if the ONNX file cannot be made (default: made where Python with torch is available)
  --no-onnx        skip the ONNX file
  --license TEXT   licence of the weights, for the model card (default $GLIMPSE_MODEL_LICENSE)`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' }, out: { type: 'string' }, version: { type: 'string' }, onnx: { type: 'boolean' },
      'no-onnx': { type: 'boolean' }, license: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(EXPORT_HELP);
  if (!values['data-dir'] || !values.out) throw new UsageError('glimpse export needs --data-dir DIR and --out DIR (see glimpse export --help)');
  if (values.onnx && values['no-onnx']) throw new UsageError('use --onnx or --no-onnx, not both');
  const t0 = performance.now();
  let r: Awaited<ReturnType<typeof exportOffline>>;
  try {
    r = await exportOffline({
      dataDir: values['data-dir'], out: values.out, license: values.license,
      version: values.version === undefined ? undefined : intFlag(values.version, 'version', 0),
      onnx: values.onnx ? 'require' : values['no-onnx'] ? 'skip' : 'auto',
    });
  } catch (e) {
    if (e instanceof ExportError) throw new UsageError(e.message);
    throw e;
  }
  console.log(`exported encoder version ${r.version} (${r.source} encoder) to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s:`);
  for (const f of r.files) console.log(`  ${f.name.padEnd(22)} ${String(f.bytes).padStart(9)} B  sha256 ${f.sha256}`);
  console.log(`  ${'MODEL_CARD.md'.padEnd(22)} the model card${r.onnxNote ? `\n  no encoder.onnx: ${r.onnxNote}` : ''}`);
}
